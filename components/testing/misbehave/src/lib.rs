//! Test fixture: a task component that misbehaves on request, so tests can prove the host
//! survives it. Input is one word: "trap", "loop", "grow", "big" (1 MiB output), "not-json",
//! "fail", "ping" (100 `clock.now` host calls, for measuring a host call's cost),
//! "raise:<error name>" (fails with that name), "long-cause" (a 10 MiB cause),
//! "put:<key>" (an `objects.put` of that key), or anything else (echoed).
//! Built with the render world, so it loads where render does. With the `presign-world`
//! feature (`misbehave-presign.wasm`) it is built with presign's world instead, and its
//! words are "sign:<method> <bucket> <key> <seconds>" (asks the signer for that link) and
//! "publish-twice"; with `query-world` (`misbehave-query.wasm`), "sql:<statement>" runs
//! that statement and answers its row count. Anything else is echoed.

#[cfg(not(any(feature = "presign-world", feature = "query-world")))]
wit_bindgen::generate!({ path: "../../../wit", world: "render" });
#[cfg(feature = "presign-world")]
wit_bindgen::generate!({ path: "../../../wit", world: "presign" });
#[cfg(feature = "query-world")]
wit_bindgen::generate!({ path: "../../../wit", world: "query" });

#[cfg(feature = "query-world")]
fn misbehave(word: &str, input: String) -> Result<String, TaskError> {
    use cafe::report::sql;
    let Some(statement) = word.strip_prefix("sql:") else {
        return Ok(input);
    };
    match sql::query(statement, &[]) {
        Ok(rows) => Ok(rows.rows.len().to_string()),
        Err(sql::SqlError::InvalidStatement(cause)) => {
            Err(TaskError::Failed(("Sql.QueryFailed".into(), cause)))
        }
        Err(sql::SqlError::Unavailable(cause)) => {
            Err(TaskError::Failed(("Sql.Unavailable".into(), cause)))
        }
    }
}

use exports::cafe::report::task::{Guest, TaskError};

#[cfg(feature = "presign-world")]
fn misbehave(word: &str, input: String) -> Result<String, TaskError> {
    use cafe::report::{notify, signer};
    if let Some(request) = word.strip_prefix("sign:") {
        let [method, bucket, key, seconds] = request.split(' ').collect::<Vec<_>>()[..] else {
            return Err(TaskError::InvalidInput(
                "sign:<method> <bucket> <key> <seconds>".into(),
            ));
        };
        let request = signer::LinkRequest {
            method: method.into(),
            bucket: bucket.into(),
            key: key.into(),
            expires_in: seconds.parse().unwrap_or(0),
        };
        return signer::presign(&request)
            .map(|link| format!("{:?}", link.url))
            .map_err(|cause| TaskError::Failed(("Signer.Failed".into(), cause)));
    }
    if word == "publish-twice" {
        for n in 1..=2 {
            notify::publish(&format!("misbehave {n}"), "twice")
                .map_err(|cause| TaskError::Failed(("Notify.PublishFailed".into(), cause)))?;
        }
        return Ok("\"published twice\"".into());
    }
    Ok(input)
}

#[cfg(not(any(feature = "presign-world", feature = "query-world")))]
fn misbehave(word: &str, input: String) -> Result<String, TaskError> {
    use cafe::report::{clock, log, objects};

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

struct Misbehave;

impl Guest for Misbehave {
    fn run(input: String) -> Result<String, TaskError> {
        cafe_guest::log_panics!(cafe::report::log);
        let word = input.trim().trim_matches('"').to_string();
        misbehave(&word, input)
    }
}

export!(Misbehave);
