//! Mocked service integrations (Step Functions Local's mock files): a test case's states
//! answer from their responses by call number, across retries and Map iterations;
//! states the case does not mock run for real.

use std::sync::Arc;

use cafe_report_asl::{MockConfig, StartExecution, StateMachine, Status};
use serde_json::{Value, json};

use crate::common::{Functions, lambda, test_engine};

const MOCKS: &str = r#"{
  "StateMachines": {
    "orders": {
      "TestCases": {
        "RetryPath": {"Charge": "ChargeRetry", "Notify": "Published"},
        "HybridPath": {"Charge": "ChargeOnce"},
        "PerItem": {"Price": "Prices"}
      }
    }
  },
  "MockedResponses": {
    "ChargeOnce": {"0": {"Return": {"StatusCode": 200, "Payload": {"charged": 1}}}},
    "ChargeRetry": {
      "0": {"Throw": {"Error": "Lambda.ServiceException", "Cause": "down"}},
      "1-2": {"Throw": {"Error": "Lambda.TooManyRequestsException", "Cause": "busy"}},
      "3": {"Return": {"StatusCode": 200, "Payload": {"charged": 4}}}
    },
    "Published": {"0": {"Return": {"StatusCode": 200, "Payload": {"mocked": true}}}},
    "Prices": {"0": {"Return": 10}, "1": {"Return": 20}, "2": {"Return": 30}}
  }
}"#;

fn orders() -> Value {
    json!({
        "StartAt": "Charge",
        "States": {
            "Charge": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": lambda("charge"), "Payload.$": "$"},
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 1}],
                "ResultSelector": {"charged.$": "$.Payload.charged"},
                "ResultPath": "$.charge",
                "Next": "Notify"
            },
            "Notify": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": lambda("echo"), "Payload": {"sent": true}},
                "ResultSelector": {"payload.$": "$.Payload"},
                "ResultPath": "$.notify",
                "End": true
            }
        }
    })
}

async fn run_case(
    definition: Value,
    case: &str,
    input: Value,
) -> (Arc<cafe_report_asl::Execution>, Arc<Functions>) {
    let config = MockConfig::parse(MOCKS).unwrap();
    let functions = Arc::new(Functions::new());
    let engine = test_engine(functions.clone());
    let machine = StateMachine::from_value(&definition).unwrap();
    let execution = engine
        .start(
            Arc::new(machine),
            "orders",
            StartExecution {
                name: Some("e".into()),
                input: Some(input.to_string()),
            },
        )
        .unwrap();
    execution.use_mocks(config.test_case("orders", case).unwrap());
    execution.clone().run().await;
    (execution, functions)
}

fn output(execution: &cafe_report_asl::Execution) -> Value {
    serde_json::from_str(execution.describe().output.as_deref().unwrap()).unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_retried_state_gets_the_answer_for_each_attempt() {
    let (execution, functions) = run_case(orders(), "RetryPath", json!({})).await;
    assert_eq!(execution.describe().status, Status::Succeeded);
    let out = output(&execution);
    assert_eq!(out["charge"], json!({"charged": 4}));
    // Notify is mocked too: its Return is the whole service answer.
    assert_eq!(out["notify"], json!({"payload": {"mocked": true}}));
    assert!(functions.lambda_calls().is_empty(), "nothing was called");
    let history = execution.history();
    let failures: Vec<(String, String)> = history
        .iter()
        .filter(|e| e.kind == "TaskFailed")
        .map(|e| {
            let d = e.details().unwrap();
            (
                d["error"].as_str().unwrap().into(),
                d["cause"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        failures,
        [
            ("Lambda.ServiceException".to_string(), "down".to_string()),
            ("Lambda.TooManyRequestsException".into(), "busy".into()),
            ("Lambda.TooManyRequestsException".into(), "busy".into()),
        ]
    );
    let scheduled = history.iter().filter(|e| e.kind == "TaskScheduled").count();
    assert_eq!(scheduled, 5, "four attempts of Charge, one of Notify");
    let succeeded = history.iter().find(|e| e.kind == "TaskSucceeded").unwrap();
    assert_eq!(
        succeeded.details().unwrap()["output"],
        r#"{"StatusCode":200,"Payload":{"charged":4}}"#
    );
}

#[tokio::test(start_paused = true)]
async fn states_a_case_does_not_mock_run_for_real() {
    let (execution, functions) = run_case(orders(), "HybridPath", json!({"id": 3})).await;
    assert_eq!(execution.describe().status, Status::Succeeded);
    let out = output(&execution);
    assert_eq!(out["charge"], json!({"charged": 1}));
    assert_eq!(out["notify"], json!({"payload": {"sent": true}}));
    let called: Vec<String> = functions
        .lambda_calls()
        .into_iter()
        .map(|(function, _)| function)
        .collect();
    assert_eq!(called, [lambda("echo")]);
}

#[tokio::test(start_paused = true)]
async fn map_iterations_share_one_count_per_state() {
    let definition = json!({
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "MaxConcurrency": 1,
                "ItemProcessor": {
                    "StartAt": "Price",
                    "States": {"Price": {"Type": "Task", "Resource": lambda("price"), "End": true}}
                },
                "End": true
            }
        }
    });
    let (execution, _) = run_case(definition, "PerItem", json!(["a", "b", "c", "d"])).await;
    assert_eq!(output(&execution), json!([10, 20, 30, 30]));
}

#[tokio::test(start_paused = true)]
async fn integrations_the_engine_cannot_reach_are_valid_and_fail_unless_mocked() {
    let definition = json!({
        "StartAt": "Send",
        "States": {
            "Send": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": "https://sqs.example/q", "MessageBody.$": "$"},
                "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Fetch"}],
                "Next": "Fetch"
            },
            "Fetch": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                "Parameters": {"Bucket": "b", "Key": "k"},
                "End": true
            }
        }
    });
    let engine = test_engine(Arc::new(Functions::new()));
    let machine = Arc::new(StateMachine::from_value(&definition).unwrap());
    let execution = engine
        .execute(machine, "orders", StartExecution::default())
        .await
        .unwrap();
    let description = execution.describe();
    assert_eq!(description.status, Status::Failed);
    assert_eq!(description.error.as_deref(), Some("States.TaskFailed"));
    assert_eq!(
        description.cause.as_deref(),
        Some(
            "The local engine cannot reach the integration arn:aws:states:::aws-sdk:s3:getObject: it runs Lambda functions (as components) and sns:publish. Answer this state with a mock test case ([sfn] mock_config)"
        )
    );
    let scheduled: Vec<(String, String)> = execution
        .history()
        .iter()
        .filter(|e| e.kind == "TaskScheduled")
        .map(|e| {
            let d = e.details().unwrap();
            (
                d["resourceType"].as_str().unwrap().into(),
                d["resource"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        scheduled,
        [
            ("sqs".to_string(), "sendMessage".to_string()),
            ("aws-sdk:s3".into(), "getObject".into())
        ]
    );
}
