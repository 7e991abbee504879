//! Test fixture: a task component that misbehaves on request, so tests can prove the host
//! survives it. Input is one word: "trap", "loop", "grow", "big" (1 MiB output), "not-json",
//! "fail", "ping" (100 `clock.now` host calls, for measuring a host call's cost), or
//! anything else (echoed).
//! Built with the render world (it uses only `log` and `clock`), so it loads where render does.

wit_bindgen::generate!({ path: "../../../wit", world: "render" });

use cafe::report::{clock, log};
use exports::cafe::report::task::{Guest, TaskError};

struct Misbehave;

impl Guest for Misbehave {
    fn run(input: String) -> Result<String, TaskError> {
        cafe_guest::log_panics!(cafe::report::log);
        match input.trim().trim_matches('"') {
            "trap" => panic!("misbehave: trapping on request"),
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "grow" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "big" => Ok(format!("\"{}\"", "x".repeat(1 << 20))),
            "not-json" => Ok("this is not JSON".into()),
            "ping" => {
                let mut last = 0;
                for _ in 0..100 {
                    last = std::hint::black_box(clock::now());
                }
                Ok(last.to_string())
            }
            "fail" => Err(TaskError::Failed((
                "Misbehave.Failed".into(),
                "asked to fail".into(),
            ))),
            _ => {
                log::log(log::Level::Info, "misbehave: echoing");
                Ok(input)
            }
        }
    }
}

export!(Misbehave);
