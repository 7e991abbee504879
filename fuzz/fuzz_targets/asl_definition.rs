//! StateMachine::parse (CreateStateMachine's checks) on arbitrary text: it must never panic,
//! and every refusal must say where and why, as AWS's diagnostics do.
#![no_main]

use cafe_report_asl::StateMachine;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match StateMachine::parse(text) {
        Ok(machine) => {
            assert!(
                machine.state_names().next().is_some(),
                "a valid machine has states"
            );
        }
        Err(errors) => {
            assert!(!errors.0.is_empty(), "a refusal lists at least one error");
            for error in &errors.0 {
                assert!(!error.code.is_empty() && !error.message.is_empty());
                assert!(
                    error.location.is_empty() || error.location.starts_with('/'),
                    "location is a JSON pointer: {error}"
                );
            }
        }
    }
});
