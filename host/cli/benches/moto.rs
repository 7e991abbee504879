//! The same report.asl.json on moto's Step Functions and on the local engine, side by side
//! in one run, with the same canned Lambda answers (no components run on either side).
//!
//! `cargo bench -p cafe-report --bench moto` (moto comes from `scripts/test-tools.sh`).
//! Each execution is timed from StartExecution to its end as its own client sees it: for
//! moto that includes polling DescribeExecution every 5 ms over loopback HTTP, for the
//! local engine it is an in-process call. Moto's own startDate/stopDate are printed too.
//! Method and results: BENCHMARKS.md.

use std::time::{Duration, Instant};

use cafe_report_tests::bench::{median, summarize};
use cafe_report_tests::moto::{
    Moto, answers, canned_answers, report_machine_on, run_locally, run_on_moto,
};

const EXECUTIONS: usize = 30;
const INPUT: &str = r#"{"expires_in": 300}"#;

#[tokio::main]
async fn main() {
    let moto = Moto::start();
    let (definition, machine_arn) = report_machine_on(&moto).await;
    let (inventory, delivered) = canned_answers();
    let sfn = aws_sdk_sfn::Client::new(&moto.sdk_config());

    let mut on_moto = Vec::new();
    let mut moto_reported = Vec::new();
    for i in 0..=EXECUTIONS {
        moto.queue_lambda_results(&[inventory.clone(), delivered.clone(), delivered.clone()])
            .await;
        let start = Instant::now();
        let (description, _) = run_on_moto(&sfn, &machine_arn, &format!("bench-{i}"), INPUT).await;
        let elapsed = start.elapsed();
        assert_eq!(description.status().as_str(), "SUCCEEDED");
        if i > 0 {
            on_moto.push(elapsed);
            let (started, stopped) = (description.start_date(), description.stop_date().unwrap());
            let millis = |d: &aws_sdk_sfn::primitives::DateTime| {
                d.secs() as f64 * 1000.0 + f64::from(d.subsec_nanos()) / 1e6
            };
            moto_reported.push(Duration::from_secs_f64(
                (millis(stopped) - millis(started)) / 1000.0,
            ));
        }
    }

    let mut local = Vec::new();
    for i in 0..=EXECUTIONS {
        let invoker = answers(inventory.clone(), delivered.clone());
        let start = Instant::now();
        let execution = run_locally(&definition, invoker, &format!("bench-{i}"), INPUT).await;
        let elapsed = start.elapsed();
        assert_eq!(execution.describe().status.to_string(), "SUCCEEDED");
        if i > 0 {
            local.push(elapsed);
        }
    }

    let ratio = median(&on_moto).as_secs_f64() / median(&local).as_secs_f64();
    summarize("moto: start -> end (client, 5 ms polls)", on_moto);
    summarize("moto: stopDate - startDate", moto_reported);
    summarize("local engine: start -> end", local);
    println!("moto / local (p50): {ratio:.0}x");
}
