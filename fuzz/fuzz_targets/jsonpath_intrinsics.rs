//! JSONPath and intrinsic-function evaluation, through the public engine: the first line of
//! the data is an expression, the rest is the execution input. The expression is tried as a
//! Parameters value (`"v.$"`: a path or an intrinsic call), an InputPath, a ResultPath, a
//! Choice variable, an `Assign` value and a Map's ItemsPath and MaxConcurrencyPath (inline
//! and distributed); paths are read in Jayway's syntax (the engine's `path::jayway`
//! translation is in play for each); each machine that validates is executed, after a
//! state that assigns the variables `$in` (the input) and `$x`, so `$in.a`-style paths read
//! something. Whatever the expression and input, an execution must end, and a failure must
//! carry a `States.*` error.
#![no_main]

use std::sync::{Arc, OnceLock};

use cafe_report_asl::{
    Engine, InvokeError, StartExecution, StateMachine, Status, TaskCall, TokioClock,
};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("tokio runtime")
    })
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        // The machines below have no Task states; a call would be a bug in the engine.
        let invoker = |_: TaskCall| async {
            Err::<Value, _>(InvokeError::Service {
                error: "Fuzz.UnexpectedTask".into(),
                cause: String::new(),
            })
        };
        Engine::new(Arc::new(invoker), Arc::new(TokioClock::system()))
    })
}

fn machines(expr: &str) -> [Value; 7] {
    let init = json!({"Type": "Pass", "Assign": {"in.$": "$", "x": {"a": [1, "b"]}}});
    let after_init = |start: &str, mut states: Value| {
        let mut init = init.clone();
        init["Next"] = json!(start);
        states["Init"] = init;
        json!({"StartAt": "Init", "States": states})
    };
    let pass = |fields: Value| after_init("S", json!({ "S": fields }));
    let map = |mode: &str| {
        json!({"Type": "Map", "ItemsPath": expr, "MaxConcurrencyPath": expr, "End": true,
            "ItemSelector": {"i.$": "$$.Map.Item.Value", "v.$": expr},
            "ItemProcessor": {"ProcessorConfig": {"Mode": mode},
                "StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}})
    };
    [
        pass(map("INLINE")),
        pass(map("DISTRIBUTED")),
        pass(json!({"Type": "Pass", "Parameters": {"v.$": expr}, "End": true})),
        pass(json!({"Type": "Pass", "InputPath": expr, "End": true})),
        pass(json!({"Type": "Pass", "Result": {"r": 1}, "ResultPath": expr, "End": true})),
        pass(json!({"Type": "Pass", "Assign": {"v.$": expr}, "OutputPath": expr, "End": true})),
        after_init(
            "C",
            json!({
                "C": {"Type": "Choice", "Choices": [
                    {"Variable": expr, "IsPresent": true, "Next": "Yes"},
                    {"Variable": expr, "StringMatches": "*a*", "Next": "Yes"},
                    {"Variable": expr, "NumericGreaterThanEqualsPath": expr, "Next": "Yes"}
                ], "Default": "No"},
                "Yes": {"Type": "Succeed"},
                "No": {"Type": "Succeed"}
            }),
        ),
    ]
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (expr, input) = text.split_once('\n').unwrap_or((text, "{}"));
    for definition in machines(expr) {
        let Ok(machine) = StateMachine::from_value(&definition) else {
            continue;
        };
        let request = StartExecution {
            name: None,
            input: Some(input.to_owned()),
        };
        let run = engine().execute(Arc::new(machine), "fuzz", request);
        let Ok(execution) = runtime().block_on(run) else {
            continue; // refused at StartExecution (input not JSON, too big, too deep)
        };
        let description = execution.describe();
        match description.status {
            Status::Succeeded => assert!(description.output.is_some()),
            Status::Failed => {
                let error = description.error.unwrap_or_default();
                assert!(error.starts_with("States."), "unexpected error {error}");
            }
            other => panic!("execution ended {other:?}"),
        }
    }
});
