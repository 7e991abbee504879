//! InputPath, Parameters, ResultSelector, ResultPath and OutputPath, in AWS's order.

use std::sync::Arc;

use cafe_report_asl::Status;
use serde_json::json;

use crate::common::{Functions, START, lambda, run, run_with, single};

fn hello() -> Arc<Functions> {
    Arc::new(Functions::new().with("hello", |input| async move {
        Ok(json!(format!(
            "Hello, {}!",
            input["who"].as_str().unwrap_or("nobody")
        )))
    }))
}

fn task(extra: serde_json::Value) -> serde_json::Value {
    let mut state = json!({"Type": "Task", "Resource": lambda("hello"), "End": true});
    state
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    single(state)
}

fn docs_input() -> serde_json::Value {
    json!({
        "comment": "This is a test of the input and output of a Task state.",
        "details": "Default example",
        "who": "AWS Step Functions"
    })
}

#[tokio::test(start_paused = true)]
async fn result_path_variants_from_the_aws_guide() {
    // Default ResultPath "$": the result replaces the input.
    let out = run_with(hello(), task(json!({})), docs_input()).await;
    assert_eq!(out.output, json!("Hello, AWS Step Functions!"));

    // "$.taskresult": the result joins the input.
    let out = run_with(
        hello(),
        task(json!({"ResultPath": "$.taskresult"})),
        docs_input(),
    )
    .await;
    let mut expected = docs_input();
    expected["taskresult"] = json!("Hello, AWS Step Functions!");
    assert_eq!(out.output, expected);

    // null: the result is discarded and the input passes through.
    let out = run_with(hello(), task(json!({"ResultPath": null})), docs_input()).await;
    assert_eq!(out.output, docs_input());

    // Replacing a field that exists.
    let out = run_with(hello(), task(json!({"ResultPath": "$.who"})), docs_input()).await;
    assert_eq!(out.output["who"], json!("Hello, AWS Step Functions!"));
}

#[tokio::test(start_paused = true)]
async fn input_path_and_output_path() {
    let input = json!({
        "comment": "Example for InputPath.",
        "dataset1": {"val1": 1, "val2": 2, "val3": 3},
        "dataset2": {"val1": "a", "val2": "b", "val3": "c"}
    });
    let out = run(task_echo(json!({"InputPath": "$.dataset2"})), input.clone()).await;
    assert_eq!(out.output, json!({"val1": "a", "val2": "b", "val3": "c"}));

    let out = run(
        task_echo(json!({"InputPath": "$.dataset1", "OutputPath": "$.val2"})),
        input.clone(),
    )
    .await;
    assert_eq!(out.output, json!(2));

    // null InputPath: the task sees {}; null OutputPath: the state outputs {}.
    let out = run(
        task_echo(json!({"InputPath": null, "ResultPath": "$.seen"})),
        json!({"a": 1}),
    )
    .await;
    assert_eq!(out.output, json!({"a": 1, "seen": {}}));
    let out = run(task_echo(json!({"OutputPath": null})), input).await;
    assert_eq!(out.output, json!({}));

    // A path that matches nothing is a runtime error naming the state.
    let out = run(task_echo(json!({"InputPath": "$.missing"})), json!({})).await;
    assert_eq!(out.error.as_deref(), Some("States.Runtime"));
    let cause = out.cause.unwrap();
    assert!(
        cause.contains("'Only'") && cause.contains("$.missing"),
        "{cause}"
    );
}

fn task_echo(extra: serde_json::Value) -> serde_json::Value {
    let mut state = json!({"Type": "Task", "Resource": lambda("echo"), "End": true});
    state
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    single(state)
}

#[tokio::test(start_paused = true)]
async fn result_selector_from_the_aws_guide() {
    let functions = Arc::new(Functions::new().with("cluster", |_| async move {
        Ok(json!({
            "resourceType": "elasticmapreduce",
            "resource": "createCluster.sync",
            "output": {"SdkHttpMetadata": {"HttpStatusCode": 200}, "ClusterId": "AKIAIOSFODNN7EXAMPLE"}
        }))
    }));
    let definition = single(json!({
        "Type": "Task",
        "Resource": lambda("cluster"),
        "ResultSelector": {"ClusterId.$": "$.output.ClusterId", "ResourceType.$": "$.resourceType"},
        "ResultPath": "$.EMROutput",
        "End": true
    }));
    let out = run_with(functions, definition, json!({"in": true})).await;
    assert_eq!(
        out.output,
        json!({"in": true, "EMROutput": {"ClusterId": "AKIAIOSFODNN7EXAMPLE", "ResourceType": "elasticmapreduce"}})
    );
}

#[tokio::test(start_paused = true)]
async fn all_five_fields_apply_in_order() {
    // InputPath picks $.order; Parameters builds the payload from it; the function echoes;
    // ResultSelector reshapes the result; ResultPath puts it in the *original* input;
    // OutputPath picks part of that.
    let definition = task_echo(json!({
        "InputPath": "$.order",
        "Parameters": {"beans.$": "$.items", "note": "static", "count.$": "States.ArrayLength($.items)"},
        "ResultSelector": {"n.$": "$.count", "first.$": "$.beans[0]"},
        "ResultPath": "$.order.summary",
        "OutputPath": "$.order"
    }));
    let input = json!({"customer": "Ana", "order": {"items": ["kenya", "peru"]}});
    let out = run(definition, input).await;
    assert_eq!(
        out.output,
        json!({"items": ["kenya", "peru"], "summary": {"n": 2, "first": "kenya"}})
    );
}

#[tokio::test(start_paused = true)]
async fn parameters_read_the_context_object() {
    let definition = task_echo(json!({
        "Parameters": {
            "execution.$": "$$.Execution.Name",
            "id.$": "$$.Execution.Id",
            "input.$": "$$.Execution.Input",
            "state.$": "$$.State.Name",
            "entered.$": "$$.State.EnteredTime",
            "retries.$": "$$.State.RetryCount",
            "machine.$": "$$.StateMachine.Name",
            "key.$": "States.Format('reports/{}.html', $$.Execution.Name)"
        }
    }));
    let out = run(definition, json!({"q": 1})).await;
    assert_eq!(
        out.output,
        json!({
            "execution": "test-execution",
            "id": "arn:aws:states:us-east-1:000000000000:execution:test-machine:test-execution",
            "input": {"q": 1},
            "state": "Only",
            "entered": START,
            "retries": 0,
            "machine": "test-machine",
            "key": "reports/test-execution.html"
        })
    );
}

#[tokio::test(start_paused = true)]
async fn every_intrinsic_works_inside_a_state() {
    let definition = single(json!({
        "Type": "Pass",
        "Parameters": {
            "format.$": "States.Format('{} has {} beans', $.name, $.n)",
            "json.$": "States.StringToJson($.text)",
            "text.$": "States.JsonToString($.obj)",
            "array.$": "States.Array($.n, 'x')",
            "partition.$": "States.ArrayPartition($.list, 2)",
            "contains.$": "States.ArrayContains($.list, 3)",
            "range.$": "States.ArrayRange(0, 10, 5)",
            "item.$": "States.ArrayGetItem($.list, 1)",
            "length.$": "States.ArrayLength($.list)",
            "unique.$": "States.ArrayUnique(States.Array(1, 1, 2))",
            "b64.$": "States.Base64Encode($.name)",
            "plain.$": "States.Base64Decode(States.Base64Encode($.name))",
            "hash.$": "States.Hash($.name, 'SHA-1')",
            "merged.$": "States.JsonMerge($.obj, States.StringToJson('{\"b\": 2}'), false)",
            "random.$": "States.MathRandom(5, 6)",
            "sum.$": "States.MathAdd($.n, -3)",
            "split.$": "States.StringSplit('a,b,,c', ',')",
            "uuid.$": "States.UUID()"
        },
        "End": true
    }));
    let input =
        json!({"name": "Cafe", "n": 4, "text": "{\"k\":[1]}", "obj": {"a": 1}, "list": [1, 2, 3]});
    let out = run(definition, input).await;
    assert_eq!(out.status, Status::Succeeded, "{:?}", out.cause);
    let o = &out.output;
    assert_eq!(o["format"], json!("Cafe has 4 beans"));
    assert_eq!(o["json"], json!({"k": [1]}));
    assert_eq!(o["text"], json!("{\"a\":1}"));
    assert_eq!(o["array"], json!([4, "x"]));
    assert_eq!(o["partition"], json!([[1, 2], [3]]));
    assert_eq!(o["contains"], json!(true));
    assert_eq!(o["range"], json!([0, 5, 10]));
    assert_eq!(o["item"], json!(2));
    assert_eq!(o["length"], json!(3));
    assert_eq!(o["unique"], json!([1, 2]));
    assert_eq!(o["b64"], json!("Q2FmZQ=="));
    assert_eq!(o["plain"], json!("Cafe"));
    assert_eq!(o["hash"], json!("37efa8a9905492fa64937d5854b015e8e0d800be"));
    assert_eq!(o["merged"], json!({"a": 1, "b": 2}));
    assert_eq!(o["random"], json!(5));
    assert_eq!(o["sum"], json!(1));
    assert_eq!(o["split"], json!(["a", "b", "c"]));
    assert_eq!(o["uuid"].as_str().unwrap().len(), 36);
}

#[tokio::test(start_paused = true)]
async fn intrinsic_failure_can_be_caught() {
    let definition = json!({
        "StartAt": "Bad",
        "States": {
            "Bad": {
                "Type": "Task",
                "Resource": lambda("echo"),
                "Parameters": {"x.$": "States.ArrayGetItem($.list, 9)"},
                "Catch": [{"ErrorEquals": ["States.IntrinsicFailure"], "Next": "Caught"}],
                "End": true
            },
            "Caught": {"Type": "Pass", "End": true}
        }
    });
    let out = run(definition, json!({"list": [1]})).await;
    assert_eq!(out.status, Status::Succeeded);
    assert_eq!(out.output["Error"], json!("States.IntrinsicFailure"));
}

#[tokio::test(start_paused = true)]
async fn result_path_into_a_non_object_fails_and_can_be_caught() {
    let definition = json!({
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": lambda("echo"),
                "ResultPath": "$.a.b",
                "Catch": [{"ErrorEquals": ["States.ResultPathMatchFailure"], "ResultPath": "$.why", "Next": "Caught"}],
                "End": true
            },
            "Caught": {"Type": "Pass", "End": true}
        }
    });
    let out = run(definition, json!({"a": "text"})).await;
    assert_eq!(out.status, Status::Succeeded);
    assert_eq!(
        out.output["why"]["Error"],
        json!("States.ResultPathMatchFailure")
    );
    assert_eq!(out.output["a"], json!("text"));
}

#[tokio::test(start_paused = true)]
async fn oversized_payloads_exceed_the_data_limit() {
    let out = run(
        single(json!({"Type": "Task", "Resource": lambda("big"), "End": true})),
        json!({}),
    )
    .await;
    assert_eq!(out.status, Status::Failed);
    assert_eq!(out.error.as_deref(), Some("States.DataLimitExceeded"));
}

#[tokio::test(start_paused = true)]
async fn a_state_output_over_the_limit_fails_the_state() {
    // 200 KB in, twice that out.
    let definition = single(
        json!({"Type": "Pass", "Parameters": {"twice.$": "States.Array($.s, $.s)"}, "End": true}),
    );
    let out = run(definition, json!({"s": "x".repeat(200 * 1024)})).await;
    assert_eq!(out.status, Status::Failed);
    assert_eq!(out.error.as_deref(), Some("States.DataLimitExceeded"));
    // AWS's words (test_start_large_input).
    assert_eq!(
        out.cause.as_deref(),
        Some(
            "The state/task 'Only' returned a result with a size exceeding the maximum number of bytes service limit."
        )
    );
    assert!(!out.types().contains(&"PassStateExited"));
}

#[tokio::test(start_paused = true)]
async fn a_seeded_engine_repeats_its_random_values() {
    // States.UUID and an unseeded States.MathRandom come from the engine's Random, so a
    // seeded engine gives the same values run after run, and another seed others.
    let definition = single(json!({
        "Type": "Pass",
        "Parameters": {
            "uuid.$": "States.UUID()",
            "random.$": "States.MathRandom(0, 1000000)"
        },
        "End": true
    }));
    let seeded = |seed: u64| {
        crate::common::test_engine(Arc::new(Functions::new()))
            .with_random(Arc::new(cafe_report_asl::SeededRandom::new(seed)))
    };
    let first = crate::common::run_on(seeded(7), definition.clone(), json!({})).await;
    let again = crate::common::run_on(seeded(7), definition.clone(), json!({})).await;
    let other = crate::common::run_on(seeded(8), definition, json!({})).await;
    assert_eq!(first.status, Status::Succeeded, "{:?}", first.cause);
    assert_eq!(first.output, again.output);
    assert_ne!(first.output["uuid"], other.output["uuid"]);
    assert_eq!(first.output["uuid"].as_str().unwrap().len(), 36);
    let random = first.output["random"].as_i64().unwrap();
    assert!((0..1_000_000).contains(&random), "{random}");
}
