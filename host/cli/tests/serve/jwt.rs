//! `[auth] mode = "jwt"`: tokens of an OIDC issuer (as a Cognito user pool signs them),
//! checked against a JWKS file, with keys made in the test.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::server::Serve;

const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Test";
const CLIENT: &str = "cafe-report-client";

/// A new RSA private key (PKCS#1 PEM) from the system's openssl.
fn rsa_key(dir: &Path, name: &str) -> EncodingKey {
    let path = dir.join(format!("{name}.pem"));
    let status = std::process::Command::new("openssl")
        .args(["genrsa", "-traditional", "-out"])
        .arg(&path)
        .arg("2048")
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    EncodingKey::from_rsa_pem(&std::fs::read(path).unwrap()).unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn sign(key: &EncodingKey, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test(flavor = "multi_thread")]
async fn jwt_mode_takes_the_issuers_valid_tokens_only() {
    let dir = tempfile::tempdir().unwrap();
    let key = rsa_key(dir.path(), "issuer");
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap();
    jwk.common.key_id = Some("k1".into());
    let jwks = dir.path().join("jwks.json");
    std::fs::write(
        &jwks,
        serde_json::to_vec(&JwkSet { keys: vec![jwk] }).unwrap(),
    )
    .unwrap();
    let serve = Serve::start(
        dir.path(),
        &[
            ("CAFE_REPORT_AUTH_MODE", "jwt"),
            ("CAFE_REPORT_AUTH_JWT_ISSUER", ISSUER),
            ("CAFE_REPORT_AUTH_JWT_AUDIENCE", CLIENT),
            ("CAFE_REPORT_AUTH_JWT_JWKS_FILE", jwks.to_str().unwrap()),
            ("CAFE_REPORT_AUTH_JWT_TOKEN_USE", "id"),
            ("CAFE_REPORT_AUTH_JWT_ADMIN_GROUP", "admins"),
        ],
    );
    let claims = |sub: &str| {
        json!({
            "sub": sub, "email": format!("{sub}@example.com"), "iss": ISSUER, "aud": CLIENT,
            "token_use": "id", "exp": now() + 600, "iat": now(),
        })
    };
    let ana = sign(&key, "k1", &claims("ana"));

    // A valid token works, and the report is addressed to its email claim.
    let (status, started) = serve
        .create_report_as(
            &ana,
            "?name=by-jwt",
            json!({ "expires_in": 60 }).to_string(),
        )
        .await;
    assert_eq!(status, 200, "{started}");
    let (status, described) = serve.get_as(&ana, "/executions/by-jwt").await;
    assert_eq!(status, 200, "{described}");
    assert!(
        described["input"]
            .as_str()
            .unwrap()
            .contains("\"recipient\":\"ana@example.com\"")
    );
    // Another subject does not see it; a member of the admin group does.
    let bob = sign(&key, "k1", &claims("bob"));
    assert_eq!(serve.get_as(&bob, "/executions/by-jwt").await.0, 404);
    let mut admin = claims("root");
    admin["cognito:groups"] = json!(["admins"]);
    let admin = sign(&key, "k1", &admin);
    assert_eq!(serve.get_as(&admin, "/executions/by-jwt").await.0, 200);

    let with = |change: &dyn Fn(&mut Value)| {
        let mut claims = claims("ana");
        change(&mut claims);
        sign(&key, "k1", &claims)
    };
    let other_key = rsa_key(dir.path(), "forger");
    let header_none = b64(br#"{"alg":"none","kid":"k1","typ":"JWT"}"#);
    let body = b64(claims("ana").to_string().as_bytes());
    let refused = [
        ("expired", with(&|c| c["exp"] = json!(now() - 60))),
        (
            "wrong issuer",
            with(&|c| c["iss"] = json!("https://evil.example")),
        ),
        (
            "wrong audience",
            with(&|c| c["aud"] = json!("other-client")),
        ),
        (
            "access token where id is required",
            with(&|c| c["token_use"] = json!("access")),
        ),
        (
            "no email",
            with(&|c| {
                c.as_object_mut().unwrap().remove("email");
            }),
        ),
        ("bad signature", sign(&other_key, "k1", &claims("ana"))),
        ("unknown kid", sign(&key, "k2", &claims("ana"))),
        ("alg none", format!("{header_none}.{body}.")),
        ("not a JWT", "a.b.c".to_string()),
    ];
    for (what, token) in refused {
        let (status, answer) = serve.get_as(&token, "/executions").await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (401, Some("Unauthorized")),
            "{what}"
        );
    }
}
