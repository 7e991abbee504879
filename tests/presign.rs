//! Report links are real SigV4, made by the host's signer: the signature equals the one
//! aws-sigv4 computes for the same request, the path and host equal aws-sdk-s3's for the
//! configured endpoint, and the embedded S3 endpoint (which verifies signatures and expiry)
//! serves the report for the link and refuses it once tampered with or expired. The
//! signer signs nothing but report links; the endpoint lets each key do only its job.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody, SignableRequest,
    SignatureLocation, SigningSettings, UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use cafe_report_capabilities::objects::EmbeddedKeys;
use cafe_report_runtime::World;
use cafe_report_tests::{FIXED_NOW, Harness, Options, fixture, http_get, now_millis};
use reqwest::Url;
use serde_json::json;

const ACCESS_KEY: &str = "AKIDEXAMPLE";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const REGION: &str = "eu-central-1";

fn credentials(session_token: Option<&str>) -> aws_credential_types::Credentials {
    aws_credential_types::Credentials::new(
        ACCESS_KEY,
        SECRET_KEY,
        session_token.map(String::from),
        None,
        "test",
    )
}

/// What aws-sigv4 signs for a presigned GET of `base` (scheme://host/path): its query
/// parameters (decoded) and signature.
fn reference_signature(
    base: &str,
    session_token: Option<&str>,
    expires_in: u64,
) -> (BTreeMap<String, String>, String) {
    let identity = credentials(session_token).into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(expires_in));
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
    settings.session_token_mode = SessionTokenMode::Include;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name("s3")
        .time(UNIX_EPOCH + Duration::from_millis(FIXED_NOW))
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let request = SignableRequest::new(
        "GET",
        base,
        std::iter::empty(),
        SignableBody::UnsignedPayload,
    )
    .unwrap();
    let (instructions, signature) = sign(request, &params).unwrap().into_parts();
    let params = instructions
        .params()
        .iter()
        .map(|(k, v): &(&str, Cow<'static, str>)| (k.to_string(), v.to_string()))
        .filter(|(k, _)| k != "X-Amz-Signature")
        .collect();
    (params, signature)
}

/// The path aws-sdk-s3's presigner puts in a URL for this bucket, key and endpoint.
async fn sdk_path_and_host(
    endpoint: Option<&str>,
    path_style: bool,
    bucket: &str,
    key: &str,
) -> (String, String) {
    let mut config = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(REGION))
        .credentials_provider(credentials(None))
        .force_path_style(path_style);
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint);
    }
    let client = aws_sdk_s3::Client::from_conf(config.build());
    let presigned = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .presigned(
            PresigningConfig::builder()
                .start_time(UNIX_EPOCH + Duration::from_millis(FIXED_NOW))
                .expires_in(Duration::from_secs(60))
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let url = Url::parse(presigned.uri()).unwrap();
    (url.path().to_string(), url.host_str().unwrap().to_string())
}

struct Case {
    endpoint: Option<&'static str>,
    path_style: bool,
    key: &'static str,
    session_token: Option<&'static str>,
    expected_host: &'static str,
}

#[tokio::test]
async fn signatures_match_aws_sigv4_and_paths_match_the_sdk() {
    let cases = [
        Case {
            endpoint: None,
            path_style: true,
            key: "reports/weekly.html",
            session_token: None,
            expected_host: "cafe-reports.s3.eu-central-1.amazonaws.com",
        },
        Case {
            endpoint: None,
            path_style: false,
            key: "reports/a+b 100%.html",
            session_token: Some("FQoGZXIvYXdzE//token+/=="),
            expected_host: "cafe-reports.s3.eu-central-1.amazonaws.com",
        },
        Case {
            endpoint: Some("http://127.0.0.1:9000"),
            path_style: true,
            key: "reports/café/naïve ☕.html",
            session_token: None,
            expected_host: "127.0.0.1",
        },
        Case {
            endpoint: Some("http://127.0.0.1:9000"),
            path_style: true,
            key: "reports/~a_b-c.d!*'()&=$,;@:?#[] x.html",
            session_token: Some("tok"),
            expected_host: "127.0.0.1",
        },
        Case {
            // Virtual addressing on an IP endpoint: path style, as the SDK does.
            endpoint: Some("http://127.0.0.1:9000"),
            path_style: false,
            key: "reports/weekly.html",
            session_token: None,
            expected_host: "127.0.0.1",
        },
        Case {
            endpoint: Some("https://s3.example.com"),
            path_style: false,
            key: "reports/ünïcode + space.html",
            session_token: None,
            expected_host: "cafe-reports.s3.example.com",
        },
    ];
    for case in cases {
        let token = case.session_token.map(String::from);
        let (endpoint, path_style) = (case.endpoint, case.path_style);
        let h = Harness::with(Options {
            now: Some(FIXED_NOW),
            configure: Some(Box::new(move |config| {
                config.signer.access_key_id = Some(ACCESS_KEY.into());
                config.signer.secret_access_key = Some(SECRET_KEY.into());
                config.signer.session_token = token;
                config.signer.region = REGION.into();
                config.objects.endpoint = endpoint.map(String::from);
                config.objects.embedded_server = endpoint.is_some();
                config.objects.path_style = path_style;
            })),
            ..Options::default()
        })
        .await;
        let input = json!({"key": case.key, "bucket": "cafe-reports", "expires_in": 900});
        let link = h.run("presign", &input).await.unwrap();
        let url = Url::parse(link["url"].as_str().unwrap()).unwrap();
        assert_eq!(url.host_str(), Some(case.expected_host), "{url}");

        let ours: BTreeMap<String, String> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let base = url[..url::Position::AfterPath].to_string();
        let (expected_params, expected_signature) =
            reference_signature(&base, case.session_token, 900);
        let mut ours_without_signature = ours.clone();
        let signature = ours_without_signature.remove("X-Amz-Signature").unwrap();
        assert_eq!(
            ours_without_signature, expected_params,
            "key {:?}",
            case.key
        );
        assert_eq!(signature, expected_signature, "key {:?}", case.key);

        let sdk_path_style =
            case.endpoint.is_some() && (case.path_style || case.expected_host == "127.0.0.1");
        let (sdk_path, sdk_host) =
            sdk_path_and_host(case.endpoint, sdk_path_style, "cafe-reports", case.key).await;
        assert_eq!(url.path(), sdk_path, "key {:?}", case.key);
        assert_eq!(
            url.host_str(),
            Some(sdk_host.as_str()),
            "key {:?}",
            case.key
        );
    }
}

#[tokio::test]
async fn the_embedded_endpoint_serves_signed_links_and_refuses_others() {
    let h = Harness::new().await;
    let inventory = h.run("query", &json!({})).await.unwrap();
    let key = "reports/café menu+special 100%.html";
    h.run("render", &json!({"inventory": inventory, "key": key}))
        .await
        .unwrap();
    let link = h
        .run(
            "presign",
            &json!({"key": key, "bucket": h.bucket(), "expires_in": 60}),
        )
        .await
        .unwrap();
    let url = link["url"].as_str().unwrap();
    let (status, body) = http_get(url).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.as_bytes(), h.stored(key).as_slice());
    assert!(body.contains("Brûlerie Étoile"));

    let tampered = [
        url.replace("X-Amz-Expires=60", "X-Amz-Expires=6000"),
        url.replace("100%25", "200%25"),
        {
            let cut = url.len() - 1;
            let last = if url.ends_with('0') { "1" } else { "0" };
            format!("{}{last}", &url[..cut])
        },
        url.replace(
            &format!(
                "X-Amz-Credential={}",
                h.runtime.capabilities().signer.access_key_id()
            ),
            "X-Amz-Credential=SOMEONEELSE",
        ),
    ];
    for bad in tampered {
        let (status, body) = http_get(&bad).await;
        assert_eq!(status, 403, "{bad}: {body}");
        assert!(
            body.contains("<Error>") && body.contains("<Code>"),
            "{body}"
        );
    }
    let (status, _) = http_get(url.split('?').next().unwrap()).await;
    assert_eq!(status, 403, "unsigned GET");
}

#[tokio::test]
async fn expired_links_are_refused() {
    // Signed ten minutes ago for one minute.
    let h = Harness::with(Options {
        now: Some(now_millis() - 600_000),
        ..Options::default()
    })
    .await;
    let inventory = h.run("query", &json!({})).await.unwrap();
    h.run(
        "render",
        &json!({"inventory": inventory, "report_id": "old"}),
    )
    .await
    .unwrap();
    let link = h
        .run(
            "presign",
            &json!({"report_id": "old", "bucket": h.bucket(), "expires_in": 60}),
        )
        .await
        .unwrap();
    let (status, body) = http_get(link["url"].as_str().unwrap()).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("<Error>"), "{body}");
}

/// misbehave-presign asks the signer for links a report never needs: each is refused with
/// the rule it breaks, while a report link is signed.
#[tokio::test]
async fn the_signer_signs_only_report_links() {
    let h = Harness::new().await;
    h.runtime
        .load("sign", World::Presign, &fixture("misbehave-presign"))
        .expect("misbehave-presign loads with the presign world");
    let bucket = h.bucket();
    let refused = [
        (
            format!("PUT {bucket} reports/x.html 60"),
            "only GET links are signed, not \"PUT\"".to_string(),
        ),
        (
            "GET other-bucket reports/x.html 60".to_string(),
            format!("links point only into the bucket \"{bucket}\", not \"other-bucket\""),
        ),
        (
            format!("GET {bucket} components/presign.wasm 60"),
            "the key \"components/presign.wasm\" is refused: components reach only keys under reports/".to_string(),
        ),
        (
            format!("GET {bucket} reports/x.html 31536000"),
            "expires_in must be 1 to 3600 seconds, not 31536000".to_string(),
        ),
    ];
    for (request, why) in refused {
        let err = h
            .runtime
            .run("sign", &json!(format!("sign:{request}")).to_string())
            .await
            .unwrap_err();
        assert_eq!(err.error(), "Signer.Failed", "{request}: {err}");
        assert_eq!(err.cause(), format!("refusing to sign: {why}"), "{request}");
    }
    let url = h
        .runtime
        .run(
            "sign",
            &json!(format!("sign:GET {bucket} reports/x.html 60")).to_string(),
        )
        .await
        .unwrap();
    assert!(
        url.starts_with(&format!("\"{}/{bucket}/reports/x.html?", h.endpoint())),
        "{url}"
    );
    assert!(url.contains("X-Amz-SignedHeaders=host&"), "{url}");
}

/// An S3 client of the embedded endpoint with one key pair.
fn client_with(h: &Harness, key_id: &str, secret: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            key_id, secret, None, None, "test",
        ))
        .endpoint_url(h.endpoint())
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Whether an SDK call was answered 403.
fn forbidden<T, E: std::fmt::Debug>(
    result: Result<T, aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
) -> bool {
    matches!(&result, Err(err) if err.raw_response().is_some_and(|r| r.status().as_u16() == 403))
}

/// The embedded endpoint trusts no key but its own two, and each only for its job: the
/// README's old pair, the signing key (visible in every link) and anonymous callers cannot
/// list, put or delete; SigV2 links and links over the lifetime cap are refused; the
/// report's link and the host's own writes work.
#[tokio::test]
async fn the_embedded_endpoint_lets_each_key_do_only_its_job() {
    let h = Harness::new().await;
    let (_, stored, link) = h.report("weekly", 60).await;
    let key = stored["key"].as_str().unwrap().to_string();
    let bucket = h.bucket();
    let (status, body) = http_get(link["url"].as_str().unwrap()).await;
    assert_eq!(status, 200, "the report link: {body}");

    let keys = EmbeddedKeys::load_or_create(h.dir.path()).unwrap();
    let old = client_with(&h, "CAFEREPORTLOCAL", "cafe-report-local-secret");
    let signing = client_with(
        &h,
        &keys.signing.access_key_id,
        &keys.signing.secret_access_key,
    );
    for (who, client) in [("the old default key", &old), ("the signing key", &signing)] {
        assert!(
            forbidden(client.list_objects_v2().bucket(&bucket).send().await),
            "{who}: list"
        );
        assert!(
            forbidden(client.list_buckets().send().await),
            "{who}: list buckets"
        );
        assert!(
            forbidden(
                client
                    .put_object()
                    .bucket(&bucket)
                    .key("components/render.wasm")
                    .body(b"x".to_vec().into())
                    .send()
                    .await
            ),
            "{who}: put"
        );
        assert!(
            forbidden(
                client
                    .delete_object()
                    .bucket(&bucket)
                    .key(&key)
                    .send()
                    .await
            ),
            "{who}: delete"
        );
        assert!(
            forbidden(client.get_object().bucket(&bucket).key(&key).send().await),
            "{who}: a GET signed in headers"
        );
    }
    let anonymous = reqwest::Client::new();
    let object_url = format!("{}/{bucket}/{key}", h.endpoint());
    for request in [
        anonymous.get(format!("{}/{bucket}?list-type=2", h.endpoint())),
        anonymous
            .put(format!("{}/{bucket}/components/x.wasm", h.endpoint()))
            .body("x"),
        anonymous.delete(&object_url),
        anonymous.get(&object_url),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status().as_u16(),
            403,
            "anonymous {}",
            response.url()
        );
    }

    // Signature Version 2, correctly signed with the signing key, valid for three years.
    let expires = now_millis() / 1000 + 3 * 365 * 86_400;
    let to_sign = format!("GET\n\n\n{expires}\n/{bucket}/{key}");
    let signature = {
        use base64::Engine;
        use hmac::{KeyInit, Mac};
        let mut mac =
            hmac::Hmac::<sha1::Sha1>::new_from_slice(keys.signing.secret_access_key.as_bytes())
                .unwrap();
        mac.update(to_sign.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    };
    let v2 = Url::parse_with_params(
        &object_url,
        [
            ("AWSAccessKeyId", keys.signing.access_key_id.as_str()),
            ("Expires", &expires.to_string()),
            ("Signature", &signature),
        ],
    )
    .unwrap();
    let (status, body) = http_get(v2.as_str()).await;
    assert_eq!(status, 403, "a SigV2 link: {body}");
    assert!(body.contains("Signature Version 2"), "{body}");

    // SigV4 with the signing key, but for longer than [links] max_expires_seconds.
    let presigned = signing
        .get_object()
        .bucket(&bucket)
        .key(&key)
        .presigned(PresigningConfig::expires_in(Duration::from_secs(7200)).unwrap())
        .await
        .unwrap();
    let (status, body) = http_get(presigned.uri()).await;
    assert_eq!(status, 403, "a two-hour link: {body}");
    assert!(body.contains("at most 3600 seconds"), "{body}");
    let presigned = signing
        .get_object()
        .bucket(&bucket)
        .key(&key)
        .presigned(PresigningConfig::expires_in(Duration::from_secs(600)).unwrap())
        .await
        .unwrap();
    assert_eq!(http_get(presigned.uri()).await.0, 200, "a ten-minute link");

    // The host's own key writes reports and component versions, and nothing bucket-wide.
    let writer = client_with(
        &h,
        &keys.writer.access_key_id,
        &keys.writer.secret_access_key,
    );
    for written in ["reports/by-host.html", "components/live/render.wasm"] {
        writer
            .put_object()
            .bucket(&bucket)
            .key(written)
            .body(b"x".to_vec().into())
            .send()
            .await
            .unwrap_or_else(|err| panic!("the writer puts {written}: {err:?}"));
    }
    assert!(forbidden(
        writer
            .put_object()
            .bucket(&bucket)
            .key("elsewhere.txt")
            .body(b"x".to_vec().into())
            .send()
            .await
    ));
    assert!(forbidden(
        writer.list_objects_v2().bucket(&bucket).send().await
    ));
}

/// Links are signed for the bucket's region (`[objects] region`) when it differs from
/// `[signer] region`, also with keys named in `[signer]`.
#[tokio::test]
async fn links_are_signed_for_the_buckets_region() {
    let h = Harness::with(Options {
        configure: Some(Box::new(|config| {
            config.objects.region = Some("eu-west-1".into());
            config.signer.access_key_id = Some(ACCESS_KEY.into());
            config.signer.secret_access_key = Some(SECRET_KEY.into());
        })),
        ..Options::default()
    })
    .await;
    let (_, _, link) = h.report("regional", 60).await;
    let url = link["url"].as_str().unwrap();
    assert!(url.contains("%2Feu-west-1%2Fs3%2Faws4_request&"), "{url}");
    assert_eq!(http_get(url).await.0, 200);
}
