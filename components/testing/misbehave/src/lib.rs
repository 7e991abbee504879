//! Test fixture: a task component that misbehaves on request, so tests can prove the host
//! survives it. Input is one word: "trap", "loop", "grow", "big" (1 MiB output), "not-json",
//! "fail", "ping" (100 `clock.now` host calls, for measuring a host call's cost),
//! "raise:<error name>" (fails with that name), "long-cause" (a 10 MiB cause),
//! "put:<key>" (an `objects.put` of that key), or anything else (echoed).
//! Built with the render world (it uses only `log` and `clock`), so it loads where render does.

wit_bindgen::generate!({ path: "../../../wit", world: "render" });

use cafe::report::{clock, log, objects};
use exports::cafe::report::task::{Guest, TaskError};

struct Misbehave;

impl Guest for Misbehave {
    fn run(input: String) -> Result<String, TaskError> {
        cafe_guest::log_panics!(cafe::report::log);
        let word = input.trim().trim_matches('"');
        if let Some(name) = word.strip_prefix("raise:") {
            return Err(TaskError::Failed((name.into(), "raised on request".into())));
        }
        if let Some(key) = word.strip_prefix("put:") {
            return objects::put(key, b"misbehave", "text/plain", "no-store")
                .map(|info| format!("{:?}", info.key))
                .map_err(|cause| TaskError::Failed(("Objects.PutFailed".into(), cause)));
        }
        match word {
            "long-cause" => Err(TaskError::Failed((
                "Misbehave.Long".into(),
                "x".repeat(10 << 20),
            ))),
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
