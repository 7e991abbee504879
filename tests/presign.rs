//! presign's URLs are real SigV4: the signature equals the one aws-sigv4 computes for the
//! same request, the path equals aws-sdk-s3's encoding of the key, and the embedded S3
//! endpoint (which verifies signatures and expiry) serves the report for the URL and
//! refuses it once tampered with or expired.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody, SignableRequest,
    SignatureLocation, SigningSettings, UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use cafe_report_tests::{FIXED_NOW, Harness, Options, http_get, now_millis};
use reqwest::Url;
use serde_json::json;

const ACCESS_KEY: &str = "AKIDEXAMPLE";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const REGION: &str = "eu-central-1";

async fn harness(session_token: Option<&str>) -> Harness {
    let token = session_token.map(String::from);
    Harness::with(Options {
        now: Some(FIXED_NOW),
        configure: Some(Box::new(move |config| {
            config.signer.access_key_id = Some(ACCESS_KEY.into());
            config.signer.secret_access_key = Some(SECRET_KEY.into());
            config.signer.session_token = token;
            config.signer.region = REGION.into();
        })),
        ..Options::default()
    })
    .await
}

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
    addressing: Option<&'static str>,
    key: &'static str,
    session_token: Option<&'static str>,
    expected_host: &'static str,
}

#[tokio::test]
async fn signatures_match_aws_sigv4_and_paths_match_the_sdk() {
    let cases = [
        Case {
            endpoint: None,
            addressing: None,
            key: "reports/weekly.html",
            session_token: None,
            expected_host: "cafe-reports.s3.eu-central-1.amazonaws.com",
        },
        Case {
            endpoint: None,
            addressing: Some("path"),
            key: "reports/weekly report.html",
            session_token: None,
            expected_host: "s3.eu-central-1.amazonaws.com",
        },
        Case {
            endpoint: None,
            addressing: None,
            key: "reports/a+b 100%.html",
            session_token: Some("FQoGZXIvYXdzE//token+/=="),
            expected_host: "cafe-reports.s3.eu-central-1.amazonaws.com",
        },
        Case {
            endpoint: Some("http://127.0.0.1:9000"),
            addressing: None,
            key: "reports/café/naïve ☕.html",
            session_token: None,
            expected_host: "127.0.0.1",
        },
        Case {
            endpoint: Some("http://127.0.0.1:9000"),
            addressing: None,
            key: "odd/~a_b-c.d!*'()&=$,;@:?#[] x.html",
            session_token: Some("tok"),
            expected_host: "127.0.0.1",
        },
        Case {
            // Virtual addressing asked for an IP endpoint: path style, as the SDK does.
            endpoint: Some("http://127.0.0.1:9000"),
            addressing: Some("virtual"),
            key: "reports/weekly.html",
            session_token: None,
            expected_host: "127.0.0.1",
        },
        Case {
            endpoint: Some("https://s3.example.com"),
            addressing: Some("virtual"),
            key: "reports/ünïcode + space.html",
            session_token: None,
            expected_host: "cafe-reports.s3.example.com",
        },
    ];
    for case in cases {
        let h = harness(case.session_token).await;
        let mut input = json!({"key": case.key, "bucket": "cafe-reports", "expires_in": 900});
        if let Some(endpoint) = case.endpoint {
            input["endpoint"] = json!(endpoint);
        }
        if let Some(addressing) = case.addressing {
            input["addressing"] = json!(addressing);
        }
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

        let path_style = case.addressing == Some("path")
            || (case.endpoint.is_some() && case.addressing != Some("virtual"));
        let (sdk_path, sdk_host) =
            sdk_path_and_host(case.endpoint, path_style, "cafe-reports", case.key).await;
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
            &json!({"key": key, "bucket": h.bucket(), "endpoint": h.endpoint(), "expires_in": 60}),
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
            "X-Amz-Credential=CAFEREPORTLOCAL",
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
            &json!({"report_id": "old", "bucket": h.bucket(), "endpoint": h.endpoint(), "expires_in": 60}),
        )
        .await
        .unwrap();
    let (status, body) = http_get(link["url"].as_str().unwrap()).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("<Error>"), "{body}");
}

#[tokio::test]
async fn the_signer_refuses_what_is_not_a_presign() {
    let h = harness(None).await;
    let signer = &h.runtime.capabilities().signer;
    let now = UNIX_EPOCH + Duration::from_millis(FIXED_NOW);
    let hash = "a".repeat(64);
    let good =
        format!("AWS4-HMAC-SHA256\n20261124T093100Z\n20261124/{REGION}/s3/aws4_request\n{hash}");
    assert_eq!(
        signer
            .sign(&good, "20261124", REGION, "s3", now)
            .unwrap()
            .len(),
        64
    );
    let refusals = [
        (good.clone(), "20261124", REGION, "iam"),
        ("hello".to_string(), "20261124", REGION, "s3"),
        (
            good.replace("20261124T093100Z", "20261124T233100Z"),
            "20261124",
            REGION,
            "s3",
        ),
        (good.clone(), "20261124", "us-west-2", "s3"),
    ];
    for (text, date, region, service) in refusals {
        let err = signer.sign(&text, date, region, service, now).unwrap_err();
        assert!(err.to_string().starts_with("refusing to sign"), "{err}");
    }
}
