//! The AWS backends against moto: reports through aws-sdk-s3, messages through
//! aws-sdk-sns to an SQS subscriber, and the report workflow with both.

use cafe_report_capabilities::notify::{Notifier, SnsNotifier};
use cafe_report_capabilities::objects::{ObjectStore, S3Store};
use cafe_report_capabilities::signer::Credentials;
use cafe_report_tests::moto::{
    BUCKET, Moto, REGION, answers, canned_answers, report_machine_on, run_locally, run_on_moto,
    steps,
};
use cafe_report_tests::{Harness, Options};
use serde_json::Value;

fn credentials() -> Credentials {
    Credentials {
        access_key_id: "testing".into(),
        secret_access_key: "testing".into(),
        session_token: Some("session-token".into()),
        region: REGION.into(),
    }
}

/// A topic with an SQS queue subscribed (raw delivery off, as an email-like envelope).
async fn topic_with_queue(moto: &Moto) -> (String, aws_sdk_sqs::Client, String) {
    let sns = aws_sdk_sns::Client::new(&moto.sdk_config());
    let topic = sns.create_topic().name("cafe-report").send().await.unwrap();
    let topic_arn = topic.topic_arn().unwrap().to_string();
    let (sqs, queue_url) = subscribe_queue(moto, &topic_arn, "inbox", None).await;
    (topic_arn, sqs, queue_url)
}

/// A new queue subscribed to the topic, with a filter policy on message attributes
/// when given (as the SAM template subscribes each requester's address).
async fn subscribe_queue(
    moto: &Moto,
    topic_arn: &str,
    name: &str,
    filter_policy: Option<Value>,
) -> (aws_sdk_sqs::Client, String) {
    let config = moto.sdk_config();
    let sns = aws_sdk_sns::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue = sqs.create_queue().queue_name(name).send().await.unwrap();
    let queue_url = queue.queue_url().unwrap().to_string();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let queue_arn =
        attributes.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
    let mut subscribe = sns
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn);
    if let Some(policy) = filter_policy {
        subscribe = subscribe.attributes("FilterPolicy", policy.to_string());
    }
    subscribe.send().await.unwrap();
    (sqs, queue_url)
}

/// The SNS envelopes waiting in the queue.
async fn received(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<Value> {
    let answer = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    answer
        .messages()
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn objects_and_messages_go_through_the_aws_sdks() {
    let moto = Moto::start();
    let store = S3Store::new(
        Some(moto.endpoint.clone()),
        BUCKET,
        REGION,
        true,
        &credentials(),
    );
    store
        .client()
        .create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    let info = store
        .put(
            "reports/x.html",
            b"<h1>hi</h1>".to_vec(),
            "text/html; charset=utf-8",
            "no-store",
        )
        .await
        .unwrap();
    assert_eq!((info.bucket.as_str(), info.size), (BUCKET, 11));
    let object = store
        .client()
        .get_object()
        .bucket(BUCKET)
        .key("reports/x.html")
        .send()
        .await
        .unwrap();
    assert_eq!(object.content_type(), Some("text/html; charset=utf-8"));
    assert_eq!(
        object.body.collect().await.unwrap().to_vec(),
        b"<h1>hi</h1>"
    );

    let (topic_arn, sqs, queue_url) = topic_with_queue(&moto).await;
    let notifier = SnsNotifier::new(&topic_arn, Some(&moto.endpoint), &credentials()).unwrap();
    let id = notifier
        .publish(None, "Café report ready", "Open https://example/report")
        .await
        .unwrap();
    let envelopes = received(&sqs, &queue_url).await;
    assert_eq!(envelopes.len(), 1);
    assert_eq!(envelopes[0]["MessageId"], id.as_str());
    assert_eq!(envelopes[0]["Subject"], "Caf? report ready");
    assert_eq!(envelopes[0]["Message"], "Open https://example/report");
    assert_eq!(envelopes[0]["TopicArn"], topic_arn.as_str());

    // A message for one requester carries the recipient attribute, which routes it to
    // that address's filtered subscription and no other filtered one.
    let filter = |addr: &str| Some(serde_json::json!({ "recipient": [addr] }));
    let (_, ana) = subscribe_queue(&moto, &topic_arn, "ana", filter("ana@example.com")).await;
    let (_, bob) = subscribe_queue(&moto, &topic_arn, "bob", filter("bob@example.com")).await;
    let id = notifier
        .publish(Some("ana@example.com"), "Report", "ana's link")
        .await
        .unwrap();
    let to_ana = received(&sqs, &ana).await;
    assert_eq!(to_ana.len(), 1, "{to_ana:?}");
    assert_eq!(to_ana[0]["MessageId"], id.as_str());
    assert_eq!(
        to_ana[0]["MessageAttributes"]["recipient"],
        serde_json::json!({ "Type": "String", "Value": "ana@example.com" })
    );
    assert_eq!(received(&sqs, &bob).await, Vec::<Value>::new());

    // A topic that does not exist: a clear error, not a message id.
    let missing = SnsNotifier::new(
        "arn:aws:sns:us-east-1:123456789012:nope",
        Some(&moto.endpoint),
        &credentials(),
    )
    .unwrap();
    let err = missing.publish(None, "s", "m").await.unwrap_err();
    assert!(
        matches!(&err, cafe_report_capabilities::notify::NotifyError::Delivery(text) if text.contains("publishing to the SNS topic arn:aws:sns:us-east-1:123456789012:nope failed")),
        "{err}"
    );
}

#[tokio::test]
async fn the_report_workflow_runs_on_the_aws_backends() {
    let moto = Moto::start();
    let (topic_arn, sqs, queue_url) = topic_with_queue(&moto).await;
    let config = moto.sdk_config();
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    )
    .create_bucket()
    .bucket(BUCKET)
    .send()
    .await
    .unwrap();
    let endpoint = moto.endpoint.clone();
    let h = Harness::with(Options {
        configure: Some(Box::new(move |config| {
            config.objects.endpoint = Some(endpoint);
            config.objects.bucket = BUCKET.into();
            config.notify.sns_topic_arn = Some(topic_arn);
            config.signer.access_key_id = Some("testing".into());
            config.signer.secret_access_key = Some("testing".into());
        })),
        ..Options::default()
    })
    .await;
    let execution = h.execute_report("on-moto").await;
    let description = execution.describe();
    assert_eq!(
        description.status.to_string(),
        "SUCCEEDED",
        "{description:?}"
    );
    let output: Value = serde_json::from_str(description.output.as_deref().unwrap()).unwrap();
    assert_eq!(output["report"]["bucket"], BUCKET);
    let url = output["link"]["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/{BUCKET}/reports/on-moto.html?", moto.endpoint)),
        "{url}"
    );

    // The message reached the subscriber, with the link; the link serves the report.
    let envelopes = received(&sqs, &queue_url).await;
    assert_eq!(envelopes.len(), 1, "{envelopes:?}");
    assert_eq!(envelopes[0]["MessageId"], output["link"]["message_id"]);
    assert!(envelopes[0]["Message"].as_str().unwrap().contains(url));
    let page = reqwest::get(url).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Coffee inventory report")
    );
}

#[tokio::test]
async fn report_asl_runs_on_moto_step_functions_as_on_the_local_engine() {
    let moto = Moto::start();
    let (definition, machine_arn) = report_machine_on(&moto).await;
    let (inventory, delivered) = canned_answers();
    moto.queue_lambda_results(&[inventory.clone(), delivered.clone(), delivered.clone()])
        .await;
    let input = r#"{"expires_in": 300}"#;
    let sfn = aws_sdk_sfn::Client::new(&moto.sdk_config());
    let (description, on_moto) = run_on_moto(&sfn, &machine_arn, "side-by-side", input).await;
    let local = run_locally(
        &definition,
        answers(inventory, delivered),
        "side-by-side",
        input,
    )
    .await;
    let local_events: Vec<(String, Option<String>)> = local
        .history()
        .iter()
        .map(|e| {
            (
                e.kind.clone(),
                e.details()
                    .and_then(|d| d["name"].as_str())
                    .map(str::to_string),
            )
        })
        .collect();

    let described = local.describe();
    assert_eq!(description.status().as_str(), described.status.to_string());
    let moto_output: Value = serde_json::from_str(description.output().unwrap()).unwrap();
    let local_output: Value = serde_json::from_str(described.output.as_deref().unwrap()).unwrap();
    assert_eq!(moto_output, local_output);
    // Event for event: the same events; the two branches interleave as they ran, so
    // the comparison is of the sequence outside the Parallel and the events inside it.
    let (mut moto_steps, mut local_steps) = (steps(&on_moto), steps(&local_events));
    assert_eq!(
        moto_steps.len(),
        local_steps.len(),
        "{moto_steps:#?}\n{local_steps:#?}"
    );
    let inside = |s: &Vec<String>| {
        let start = s.iter().position(|e| e == "ParallelStateStarted").unwrap();
        let end = s
            .iter()
            .position(|e| e == "ParallelStateSucceeded")
            .unwrap();
        (start, end)
    };
    assert_eq!(inside(&moto_steps), inside(&local_steps));
    let (start, end) = inside(&moto_steps);
    assert_eq!(moto_steps[..start], local_steps[..start]);
    assert_eq!(moto_steps[end..], local_steps[end..]);
    moto_steps[start..end].sort();
    local_steps[start..end].sort();
    assert_eq!(moto_steps, local_steps);
}

#[tokio::test]
async fn serve_with_engine_aws_starts_and_describes_executions_on_step_functions() {
    let moto = Moto::start();
    let (_, machine_arn) = report_machine_on(&moto).await;
    let (inventory, delivered) = canned_answers();
    moto.queue_lambda_results(&[inventory, delivered.clone(), delivered])
        .await;

    let dir = tempfile::tempdir().unwrap();
    let mut config = cafe_report_server::Config {
        data_dir: dir.path().to_path_buf(),
        ..Default::default()
    };
    config.serve.listen = "127.0.0.1:0".into();
    config.serve.engine = cafe_report_server::EngineKind::Aws;
    config.serve.state_machine_arn = Some(machine_arn.clone());
    config.objects.endpoint = Some(moto.endpoint.clone());
    config.signer.access_key_id = Some("testing".into());
    config.signer.secret_access_key = Some("testing".into());
    let server = cafe_report_server::Server::bind(&config).await.unwrap();
    let api = format!("http://{}", server.api_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    let users = cafe_report_server::auth::users::UserStore::open(dir.path()).unwrap();
    let ana = users.add("ana", "ana@example.com", false).unwrap();
    let bob = users.add("bob", "bob@example.com", false).unwrap();
    let root = users.add("root", "root@example.com", true).unwrap();
    let http = reqwest::Client::new();
    let get_as = async |token: &str, path: &str| {
        let response = http
            .get(format!("{api}{path}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (
            status,
            serde_json::from_slice::<Value>(&response.bytes().await.unwrap()).unwrap(),
        )
    };
    let get = async |path: &str| get_as(&ana, path).await;
    let post = async |path: &str, body: &'static str| {
        http.post(format!("{api}{path}"))
            .bearer_auth(&ana)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
    };

    let started = post("/create_report?name=via-serve", r#"{"expires_in": 60}"#).await;
    assert_eq!(started.status(), 200);
    let started: Value = serde_json::from_slice(&started.bytes().await.unwrap()).unwrap();
    let arn = started["executionArn"].as_str().unwrap().to_string();
    assert_eq!(
        arn,
        machine_arn.replace(":stateMachine:", ":execution:") + ":via-serve"
    );
    assert!(started["startDate"].as_str().unwrap().ends_with('Z'));

    let description = loop {
        let (status, description) = get("/executions/via-serve").await;
        assert_eq!(status, 200, "{description}");
        if description["status"] != "RUNNING" {
            break description;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(description["status"], "SUCCEEDED", "{description:#}");
    assert_eq!(description["executionArn"], arn.as_str());
    // The caller's address travels in the input: presign's host, and SNS's filter
    // policies, address the link with it; and it makes the execution Ana's.
    assert_eq!(
        description["input"],
        r#"{"expires_in":60,"recipient":"ana@example.com"}"#
    );
    let output: Value = serde_json::from_str(description["output"].as_str().unwrap()).unwrap();
    assert_eq!(output["totals"]["suppliers"], 7);

    let (_, history) = get(&format!("/executions/{arn}/history")).await;
    let events = history["events"].as_array().unwrap();
    assert_eq!(events[0]["type"], "ExecutionStarted");
    assert_eq!(events.last().unwrap()["type"], "ExecutionSucceeded");
    let scheduled = events
        .iter()
        .find(|e| e["type"] == "TaskScheduled")
        .unwrap();
    assert_eq!(
        scheduled["taskScheduledEventDetails"]["resourceType"],
        "lambda"
    );
    let entered = events
        .iter()
        .find(|e| e["type"] == "TaskStateEntered")
        .unwrap();
    assert_eq!(entered["stateEnteredEventDetails"]["name"], "Query");
    // The viewer's graph: the machine's definition from DescribeStateMachine, drawn, and
    // each state's run read from the history.
    let (status, graph) = get(&format!("/executions/{arn}/graph")).await;
    assert_eq!(status, 200, "{graph}");
    assert!(
        graph["svg"]
            .as_str()
            .unwrap()
            .contains("data-state=\"Deliver\"")
    );
    assert_eq!(graph["states"]["Query"]["outcome"], "succeeded", "{graph}");
    assert!(graph["states"].get("ExplainFailure").is_none());
    assert_eq!(
        graph["events"], history["events"],
        "the events the states were read from"
    );

    let (_, listed) = get("/executions?status=SUCCEEDED").await;
    assert_eq!(listed["executions"][0]["executionArn"], arn.as_str());
    let again = post("/create_report?name=via-serve", "{}").await;
    assert_eq!(again.status(), 409);
    assert_eq!(get("/executions/nope").await.0, 404);
    assert_eq!(get("/components").await.0, 404);
    let (_, health) = get("/health").await;
    assert_eq!(health, serde_json::json!({ "status": "ok" }));

    // Bob sees none of Ana's; the administrator sees it.
    for path in [
        format!("/executions/{arn}"),
        format!("/executions/{arn}/history"),
        format!("/executions/{arn}/graph"),
    ] {
        let (status, answer) = get_as(&bob, &path).await;
        assert_eq!(
            (status, &answer["error"]),
            (404, &Value::from("ExecutionDoesNotExist")),
            "{path}"
        );
    }
    let (_, listed) = get_as(&bob, "/executions").await;
    assert_eq!(listed["executions"], serde_json::json!([]));
    assert_eq!(get_as(&root, &format!("/executions/{arn}")).await.0, 200);

    // Another state machine's execution is not this server's, even for the administrator.
    let sfn = aws_sdk_sfn::Client::new(&moto.sdk_config());
    let other = sfn
        .create_state_machine()
        .name("other")
        .definition(r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#)
        .role_arn("arn:aws:iam::123456789012:role/other")
        .send()
        .await
        .unwrap();
    let foreign = sfn
        .start_execution()
        .state_machine_arn(other.state_machine_arn())
        .name("elsewhere")
        .send()
        .await
        .unwrap();
    for path in [
        format!("/executions/{}", foreign.execution_arn()),
        format!("/executions/{}/history", foreign.execution_arn()),
    ] {
        let (status, answer) = get_as(&root, &path).await;
        assert_eq!(
            (status, &answer["error"]),
            (404, &Value::from("ExecutionDoesNotExist")),
            "{path}"
        );
    }

    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}
