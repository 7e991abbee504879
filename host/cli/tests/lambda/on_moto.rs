//! The functions as the template deploys them, against moto's Secrets Manager and S3:
//! the query function's login from a secret (rotation included), and a warm function
//! swapping to a new version put in the S3 prefix.

use std::path::Path;
use std::time::{Duration, Instant};

use cafe_report_tests::moto::{Moto, REGION};
use mysql_async::prelude::Queryable;
use serde_json::json;

use super::common::free_port;
use super::runtime_api::RuntimeApi;
use super::{Function, WAIT, error, init_error, invoke, response};

/// The database the secret's user reads, on the test MariaDB.
const DATABASE: &str = "lambda_secret";

/// A MySQL user with SELECT on [`DATABASE`] alone, created (again) by the test.
struct Reader {
    root: mysql_async::Conn,
    name: String,
}

impl Reader {
    async fn create(password: &str) -> Reader {
        let url = cafe_report_tests::seeded_mysql(DATABASE).await;
        let mut root = mysql_async::Conn::from_url(url).await.unwrap();
        let name = format!("cr_reader_{}", std::process::id());
        root.query_drop(format!("DROP USER IF EXISTS '{name}'@'%'"))
            .await
            .unwrap();
        root.query_drop(format!(
            "CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'"
        ))
        .await
        .unwrap();
        root.query_drop(format!("GRANT SELECT ON `{DATABASE}`.* TO '{name}'@'%'"))
            .await
            .unwrap();
        Reader { root, name }
    }

    /// The password changes on the server, as a rotation's `setSecret` step does.
    async fn set_password(&mut self, password: &str) {
        self.root
            .query_drop(format!(
                "ALTER USER '{}'@'%' IDENTIFIED BY '{password}'",
                self.name
            ))
            .await
            .unwrap();
    }

    /// Ends the user's open connections (a pool's idle one), so the next query connects.
    async fn disconnect(&mut self) {
        let ids: Vec<u64> = self
            .root
            .exec(
                "SELECT id FROM information_schema.processlist WHERE user = ?",
                (self.name.as_str(),),
            )
            .await
            .unwrap();
        assert!(
            !ids.is_empty(),
            "the function keeps a connection from its init"
        );
        for id in ids {
            self.root.query_drop(format!("KILL {id}")).await.unwrap();
        }
    }

    fn login(&self, password: &str) -> String {
        json!({ "engine": "mysql", "username": self.name, "password": password }).to_string()
    }
}

/// Creates a secret on moto; its ARN.
async fn create_secret(client: &aws_sdk_secretsmanager::Client, name: &str, text: &str) -> String {
    let created = client
        .create_secret()
        .name(name)
        .secret_string(text)
        .send()
        .await
        .unwrap();
    created.arn().unwrap().to_string()
}

/// Waits until the function has finished its init (it asks for its first invocation).
async fn initialised(api: &RuntimeApi) {
    let deadline = Instant::now() + WAIT;
    while api.first_next().is_none() {
        assert!(
            Instant::now() < deadline,
            "the function did not finish its init"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A query function reading [`DATABASE`] with the login in `secret`, on moto.
fn query_function(dir: &Path, api: &RuntimeApi, moto: &Moto, secret: &str) -> Function {
    let url = cafe_report_tests::mysql_url(DATABASE);
    // The URL says where the database is; the secret, who connects.
    let url = url.replacen("root@", "", 1);
    Function::start(
        dir,
        api,
        "query",
        &[
            ("DATABASE_URL", &url),
            ("CAFE_REPORT_SQL_SECRET", secret),
            ("AWS_ENDPOINT_URL", &moto.endpoint),
            ("AWS_REGION", REGION),
        ],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_query_function_logs_in_with_its_secret_and_follows_a_rotation() {
    let moto = Moto::start();
    let secrets = aws_sdk_secretsmanager::Client::new(&moto.sdk_config());
    let mut reader = Reader::create("first-Passw0rd").await;
    let arn = create_secret(&secrets, "cafe/reader", &reader.login("first-Passw0rd")).await;

    let dir = tempfile::tempdir().unwrap();
    let mut api = RuntimeApi::start().await;
    let _function = query_function(dir.path(), &api, &moto, &arn);
    initialised(&api).await;

    // Rotated after the function read the secret and checked its login: its next
    // connection is refused, which makes it read the secret again.
    reader.set_password("second-Passw0rd").await;
    secrets
        .put_secret_value()
        .secret_id(&arn)
        .secret_string(reader.login("second-Passw0rd"))
        .send()
        .await
        .unwrap();
    reader.disconnect().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let inventory = response(invoke(&mut api, json!({})).await);
    assert_eq!(inventory["totals"]["suppliers"], 7, "{inventory}");
    let inventory = response(invoke(&mut api, json!({ "low_stock_threshold": 5 })).await);
    assert_eq!(inventory["low_stock_threshold"], 5);

    let log = std::fs::read_to_string(dir.path().join("query.log")).unwrap();
    assert!(log.contains("read the secret again"), "{log}");
    for password in ["first-Passw0rd", "second-Passw0rd"] {
        assert!(!log.contains(password), "the log holds a password: {log}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_login_the_database_refuses_is_an_init_error_and_a_database_down_is_not() {
    let moto = Moto::start();
    let secrets = aws_sdk_secretsmanager::Client::new(&moto.sdk_config());
    let reader = Reader::create("right-Passw0rd").await;
    let wrong = create_secret(&secrets, "cafe/wrong", &reader.login("wrong-Passw0rd")).await;

    let dir = tempfile::tempdir().unwrap();
    let mut api = RuntimeApi::start().await;
    let _function = query_function(dir.path(), &api, &moto, &wrong);
    let body = init_error(&mut api).await;
    let message = body["errorMessage"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "the database secret {wrong} holds a login the database refuses"
        )),
        "{message}"
    );
    assert!(message.contains("Access denied"), "{message}");
    assert!(message.contains(&reader.name), "{message}");
    assert!(!message.contains("wrong-Passw0rd"), "{message}");

    // The right login, but nothing listens where the database should be: the function
    // starts, and the invocation fails as a database that is down does, Sql.Unavailable,
    // which the state machine retries and then catches.
    let right = create_secret(&secrets, "cafe/right", &reader.login("right-Passw0rd")).await;
    let down = format!("mysql://127.0.0.1:{}/{DATABASE}", free_port());
    let dir = tempfile::tempdir().unwrap();
    let mut api = RuntimeApi::start().await;
    let _function = Function::start(
        dir.path(),
        &api,
        "query",
        &[
            ("DATABASE_URL", &down),
            ("CAFE_REPORT_SQL_SECRET", &right),
            ("AWS_ENDPOINT_URL", &moto.endpoint),
            ("AWS_REGION", REGION),
        ],
    );
    let failure = error(invoke(&mut api, json!({})).await);
    assert_eq!(failure["errorType"], "Sql.Unavailable", "{failure}");
    assert!(!failure.to_string().contains("right-Passw0rd"), "{failure}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_or_malformed_secret_is_an_init_error_that_quotes_no_secret() {
    let moto = Moto::start();
    let secrets = aws_sdk_secretsmanager::Client::new(&moto.sdk_config());
    let missing = format!("arn:aws:secretsmanager:{REGION}:123456789012:secret:cafe/none-AbCdEf");
    let not_json = create_secret(&secrets, "cafe/not-json", "hunter2-password").await;
    let no_password = create_secret(
        &secrets,
        "cafe/no-password",
        r#"{"username":"hunter2-user"}"#,
    )
    .await;
    let cases = [
        (missing.as_str(), "ResourceNotFoundException"),
        (not_json.as_str(), "is not JSON"),
        (
            no_password.as_str(),
            "has no string fields username and password",
        ),
    ];
    for (arn, says) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut api = RuntimeApi::start().await;
        let _function = query_function(dir.path(), &api, &moto, arn);
        let body = init_error(&mut api).await;
        let message = body["errorMessage"].as_str().unwrap();
        assert!(
            message.contains(&format!("database secret {arn}")),
            "{message}"
        );
        assert!(message.contains(says), "{arn}: {message}");
        assert!(!message.contains("hunter2"), "{message}");
        let log = std::fs::read_to_string(dir.path().join("query.log")).unwrap();
        assert!(!log.contains("hunter2"), "{log}");
    }
}

/// Which layout a stored report has: render v1's or the `render-v2` fixture's.
fn layout_of(html: &str) -> &'static str {
    match (
        html.contains("data-layout=\"v1\""),
        html.contains("data-layout=\"v2\""),
    ) {
        (true, false) => "v1",
        (false, true) => "v2",
        _ => panic!("a report must be wholly v1 or wholly v2: {html}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_warm_function_swaps_to_a_new_version_in_s3_and_refuses_a_bad_one() {
    const BUCKET: &str = "cafe-deploy";
    let moto = Moto::start();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&moto.sdk_config())
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    let put = |bytes: Vec<u8>| {
        let s3 = s3.clone();
        async move {
            s3.put_object()
                .bucket(BUCKET)
                .key("components/live/render.wasm")
                .body(bytes.into())
                .send()
                .await
                .unwrap();
        }
    };
    let h = cafe_report_tests::Harness::new().await;
    let inventory = h.run("query", &json!({})).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut api = RuntimeApi::start().await;
    // The package holds v1 and the prefix nothing yet: v1 serves.
    let _function = Function::start(
        dir.path(),
        &api,
        "render",
        &[
            (
                "CAFE_REPORT_COMPONENTS_S3",
                "s3://cafe-deploy/components/live",
            ),
            ("CAFE_REPORT_COMPONENTS_POLL_SECONDS", "1"),
            ("CAFE_REPORT_OBJECTS_BUCKET", BUCKET),
            ("AWS_ENDPOINT_URL", &moto.endpoint),
            ("AWS_REGION", REGION),
        ],
    );
    let mut render = async |n: usize| -> &'static str {
        let key = format!("reports/swap-{n}.html");
        let output =
            response(invoke(&mut api, json!({ "inventory": inventory, "key": key })).await);
        assert_eq!(output["key"], key, "{output}");
        let object = s3
            .get_object()
            .bucket(BUCKET)
            .key(&key)
            .send()
            .await
            .unwrap();
        let html = object.body.collect().await.unwrap().into_bytes();
        layout_of(std::str::from_utf8(&html).unwrap())
    };
    assert_eq!(render(1).await, "v1");

    put(cafe_report_tests::fixture("render-v2")).await;
    assert_eq!(
        render(2).await,
        "v1",
        "not checked before poll_seconds pass"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        render(3).await,
        "v2",
        "the next invocation after the poll runs v2"
    );

    // Garbage, and a component for another world: refused, v2 keeps serving.
    let query = std::fs::read(cafe_report_tests::components_dir().join("query.wasm")).unwrap();
    for (n, bad) in [(4, b"not wasm".to_vec()), (5, query)] {
        put(bad).await;
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(render(n).await, "v2");
    }
    let log = std::fs::read_to_string(dir.path().join("render.log")).unwrap();
    let refusals = log.matches("the new version in S3 was refused").count();
    assert_eq!(refusals, 2, "{log}");
    assert!(log.contains("not a WebAssembly component"), "{log}");
    // Each invocation names the version it ran.
    let v2 = cafe_report_runtime::sha256(&cafe_report_tests::fixture("render-v2"));
    assert_eq!(
        log.matches(&format!("component_version={v2}")).count(),
        3,
        "{log}"
    );
}
