//! Checking a request's Signature Version 4, as AWS does for a JSON service: the
//! `Authorization` header's parts, the clock skew, the credential scope, then the
//! signature over the canonical request (AWS's "Create a signed AWS API request" steps).
//!
//! Written here because no crate verifies: aws-sigv4 signs, and signing the request again
//! with it would pick its own set of signed headers, so a request the AWS CLI or boto3
//! signed (they sign other headers than the Rust SDK) would never match. The keyed hashes
//! are aws-sigv4's; only the canonical form, which the caller chose, is built here.

use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, StatusCode, Uri};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use time::macros::format_description;

use super::protocol::SfnError;

/// The one algorithm accepted (SigV4a is not).
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// How far a request's `X-Amz-Date` may be from this clock, either way (AWS's for
/// services other than S3).
const MAX_SKEW: Duration = Duration::from_secs(5 * 60);

/// SigV4's "unreserved" characters pass unencoded; every other byte is `%XX`.
const ENCODED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A signed request's `Authorization` header, taken apart.
#[derive(Debug, PartialEq, Eq)]
pub struct Authorization<'a> {
    /// The access key id the signer claims.
    pub access_key: &'a str,
    /// `YYYYMMDD/region/service/aws4_request`.
    scope: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

/// The parts of a request its signature covers.
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    pub method: &'a str,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

fn incomplete(message: impl Into<String>) -> SfnError {
    SfnError {
        status: StatusCode::BAD_REQUEST,
        code: "IncompleteSignatureException",
        message: message.into(),
    }
}

fn invalid(message: impl Into<String>) -> SfnError {
    SfnError {
        status: StatusCode::BAD_REQUEST,
        code: "InvalidSignatureException",
        message: message.into(),
    }
}

impl<'a> Authorization<'a> {
    /// Parses `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
    pub fn parse(header: &'a str) -> Result<Authorization<'a>, SfnError> {
        let Some(parts) = header
            .strip_prefix(ALGORITHM)
            .filter(|rest| rest.starts_with(' '))
        else {
            return Err(incomplete(format!(
                "Authorization header requires the {ALGORITHM} algorithm"
            )));
        };
        let (mut credential, mut signed_headers, mut signature) = (None, None, None);
        for part in parts.split(',') {
            match part.trim().split_once('=') {
                Some(("Credential", value)) => credential = Some(value),
                Some(("SignedHeaders", value)) => signed_headers = Some(value),
                Some(("Signature", value)) => signature = Some(value),
                _ => {}
            }
        }
        let missing: Vec<String> = [
            ("Credential", credential.is_none()),
            ("Signature", signature.is_none()),
            ("SignedHeaders", signed_headers.is_none()),
        ]
        .into_iter()
        .filter(|(_, missing)| *missing)
        .map(|(name, _)| format!("Authorization header requires '{name}' parameter."))
        .collect();
        if !missing.is_empty() {
            return Err(incomplete(missing.join(" ")));
        }
        let credential = credential.unwrap_or_default();
        let Some((access_key, scope)) = credential.split_once('/') else {
            return Err(incomplete(format!(
                "Credential should have the form <access key>/<date>/<region>/<service>/aws4_request, not {:?}",
                redact_key(credential)
            )));
        };
        let scoped: Vec<&str> = scope.split('/').collect();
        let [date, region, service, "aws4_request"] = scoped[..] else {
            return Err(incomplete(format!(
                "Credential should be scoped to <date>/<region>/<service>/aws4_request, not {scope:?}"
            )));
        };
        Ok(Authorization {
            access_key,
            scope,
            date,
            region,
            service,
            signed_headers: signed_headers.unwrap_or_default().split(';').collect(),
            signature: signature.unwrap_or_default(),
        })
    }

    /// Checks the signature with the access key's `secret`, for `service`, at `now`.
    pub fn verify(
        &self,
        request: Signed<'_>,
        secret: &str,
        service: &str,
        now: SystemTime,
    ) -> Result<(), SfnError> {
        if self.service != service {
            return Err(invalid(format!(
                "Credential should be scoped to correct service: '{service}'. "
            )));
        }
        if !self.signed_headers.contains(&"host") {
            return Err(invalid(
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
            ));
        }
        let amz_date = request
            .headers
            .get("x-amz-date")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                incomplete(
                    "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
                )
            })?;
        let signed_at = parse_amz_date(amz_date).ok_or_else(|| {
            incomplete(format!(
                "X-Amz-Date {amz_date:?} is not of the form YYYYMMDDTHHMMSSZ"
            ))
        })?;
        check_skew(amz_date, signed_at, now)?;
        if !amz_date.starts_with(self.date) || self.date.len() != 8 {
            return Err(invalid(format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz_date}'.",
                self.date,
                &amz_date[..8]
            )));
        }
        let canonical = canonical_request(request, &self.signed_headers);
        let string_to_sign = format!(
            "{ALGORITHM}\n{amz_date}\n{}\n{}",
            self.scope,
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let key =
            aws_sigv4::sign::v4::generate_signing_key(secret, signed_at, self.region, self.service);
        let expected =
            aws_sigv4::sign::v4::calculate_signature(key.as_ref(), string_to_sign.as_bytes());
        if bool::from(expected.as_bytes().ct_eq(self.signature.as_bytes())) {
            Ok(())
        } else {
            Err(invalid(
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
            ))
        }
    }
}

/// An access key id as an error may show it: its first four characters.
fn redact_key(credential: &str) -> String {
    format!("{}…", credential.chars().take(4).collect::<String>())
}

fn parse_amz_date(text: &str) -> Option<SystemTime> {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    let at = time::PrimitiveDateTime::parse(text, format).ok()?;
    Some(at.assume_utc().into())
}

fn amz_date(at: SystemTime) -> String {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    OffsetDateTime::from(at)
        .format(format)
        .unwrap_or_else(|_| "?".into())
}

/// AWS's wording for a signature outside the clock's window.
fn check_skew(sent: &str, signed_at: SystemTime, now: SystemTime) -> Result<(), SfnError> {
    let minutes = MAX_SKEW.as_secs() / 60;
    if signed_at + MAX_SKEW < now {
        return Err(invalid(format!(
            "Signature expired: {sent} is now earlier than {} ({} - {minutes} min.)",
            amz_date(now - MAX_SKEW),
            amz_date(now)
        )));
    }
    if signed_at > now + MAX_SKEW {
        return Err(invalid(format!(
            "Signature not yet current: {sent} is still later than {} ({} + {minutes} min.)",
            amz_date(now + MAX_SKEW),
            amz_date(now)
        )));
    }
    Ok(())
}

/// The canonical request: method, path, query, the signed headers and the body's hash.
fn canonical_request(request: Signed<'_>, signed_headers: &[&str]) -> String {
    let mut headers = String::new();
    for name in signed_headers {
        let values: Vec<String> = request
            .headers
            .get_all(*name)
            .iter()
            .map(|value| collapse_spaces(&String::from_utf8_lossy(value.as_bytes())))
            .collect();
        headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    format!(
        "{}\n{}\n{}\n{headers}\n{}\n{}",
        request.method,
        canonical_path(request.uri.path()),
        canonical_query(request.uri.query().unwrap_or_default()),
        signed_headers.join(";"),
        hex::encode(Sha256::digest(request.body)),
    )
}

/// Each segment of the path as sent, encoded again (services other than S3 sign the
/// path twice encoded).
fn canonical_path(path: &str) -> String {
    if path.is_empty() {
        return "/".into();
    }
    path.split('/')
        .map(|segment| utf8_percent_encode(segment, ENCODED).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// The query's pairs, decoded, encoded SigV4's way, sorted.
fn canonical_query(query: &str) -> String {
    let encode = |text: &str| {
        let decoded = percent_decode_str(text).decode_utf8_lossy();
        utf8_percent_encode(&decoded, ENCODED).to_string()
    };
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (encode(name), encode(value))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// A header value trimmed, its runs of spaces made one.
fn collapse_spaces(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    // AWS's SigV4 test suite: its example key, clock and request host.
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const AT: &str = "20150830T123600Z";

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    fn check(method: &str, uri: &str, signature: &str) -> Result<(), SfnError> {
        let header = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature={signature}"
        );
        let auth = Authorization::parse(&header)?;
        let uri: Uri = uri.parse().unwrap();
        let headers = headers(&[("host", "example.amazonaws.com"), ("x-amz-date", AT)]);
        let request = Signed {
            method,
            uri: &uri,
            headers: &headers,
            body: b"",
        };
        auth.verify(request, SECRET, "service", parse_amz_date(AT).unwrap())
    }

    #[test]
    fn the_aws_test_suite_signatures_verify() {
        // get-vanilla, post-vanilla, get-vanilla-query-order-key-case.
        check(
            "GET",
            "/",
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        )
        .unwrap();
        check(
            "POST",
            "/",
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        )
        .unwrap();
        check(
            "GET",
            "/?Param2=value2&Param1=value1",
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        )
        .unwrap();
    }

    #[test]
    fn a_changed_request_or_signature_does_not_verify() {
        let err = check(
            "POST",
            "/?x=1",
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        )
        .unwrap_err();
        assert_eq!(err.code, "InvalidSignatureException");
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(
            err.message
                .starts_with("The request signature we calculated does not match"),
            "{}",
            err.message
        );
        let err = check(
            "GET",
            "/",
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf30",
        )
        .unwrap_err();
        assert_eq!(err.code, "InvalidSignatureException");
    }

    #[test]
    fn signatures_made_by_aws_sigv4_verify_over_their_own_headers() {
        use aws_credential_types::Credentials;
        use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
        use aws_sigv4::sign::v4::SigningParams;

        let body = br#"{"stateMachineArn":"arn:aws:states:us-east-1:000000000000:stateMachine:m"}"#;
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000);
        let identity =
            Credentials::new("AKCR0123456789ABCDEF", "s3cret", None, None, "test").into();
        let params = SigningParams::builder()
            .identity(&identity)
            .region("eu-west-3")
            .name("states")
            .time(at)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let sent = [
            ("host", "127.0.0.1:8083"),
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "AWSStepFunctions.DescribeStateMachine"),
            ("user-agent", "a  client   with spaces"),
        ];
        let signable = SignableRequest::new(
            "POST",
            "http://127.0.0.1:8083/",
            sent.iter().copied(),
            SignableBody::Bytes(body),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        let mut all = headers(&sent);
        for (name, value) in instructions.headers() {
            all.insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        let authorization = all["authorization"].to_str().unwrap().to_string();
        let uri: Uri = "/".parse().unwrap();
        let request = Signed {
            method: "POST",
            uri: &uri,
            headers: &all,
            body,
        };
        let auth = Authorization::parse(&authorization).unwrap();
        assert_eq!(auth.access_key, "AKCR0123456789ABCDEF");
        auth.verify(request, "s3cret", "states", at).unwrap();

        let wrong = auth.verify(request, "other", "states", at).unwrap_err();
        assert_eq!(wrong.code, "InvalidSignatureException");
        let tampered = Signed {
            body: br#"{"stateMachineArn":"arn:aws:states:us-east-1:000000000000:stateMachine:n"}"#,
            ..request
        };
        assert_eq!(
            auth.verify(tampered, "s3cret", "states", at)
                .unwrap_err()
                .code,
            "InvalidSignatureException"
        );
        let elsewhere = auth.verify(request, "s3cret", "lambda", at).unwrap_err();
        assert_eq!(
            elsewhere.message,
            "Credential should be scoped to correct service: 'lambda'. "
        );
    }

    #[test]
    fn old_and_future_signatures_are_refused_with_aws_words() {
        let now = parse_amz_date("20150830T124200Z").unwrap();
        let err = check_skew(AT, parse_amz_date(AT).unwrap(), now).unwrap_err();
        assert_eq!(err.code, "InvalidSignatureException");
        assert_eq!(
            err.message,
            "Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z (20150830T124200Z - 5 min.)"
        );
        let now = parse_amz_date("20150830T123000Z").unwrap();
        assert_eq!(
            check_skew(AT, parse_amz_date(AT).unwrap(), now)
                .unwrap_err()
                .message,
            "Signature not yet current: 20150830T123600Z is still later than 20150830T123500Z (20150830T123000Z + 5 min.)"
        );
        let now = parse_amz_date("20150830T124000Z").unwrap();
        check_skew(AT, parse_amz_date(AT).unwrap(), now).unwrap();
    }

    #[test]
    fn malformed_authorization_headers_are_named() {
        let err = Authorization::parse(
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/states/aws4_request",
        )
        .unwrap_err();
        assert_eq!(err.code, "IncompleteSignatureException");
        assert_eq!(
            err.message,
            "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter."
        );
        let err = Authorization::parse(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLESECRETISH, SignedHeaders=host, Signature=00",
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "Credential should have the form <access key>/<date>/<region>/<service>/aws4_request, not \"AKID…\""
        );
        let err = Authorization::parse(
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/states, SignedHeaders=host, Signature=00",
        )
        .unwrap_err();
        assert_eq!(err.code, "IncompleteSignatureException");
        assert_eq!(
            Authorization::parse("AWS4-ECDSA-P256-SHA256 Credential=AKID")
                .unwrap_err()
                .code,
            "IncompleteSignatureException"
        );
    }

    #[test]
    fn a_scope_dated_another_day_is_refused() {
        let header = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150829/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=00";
        let auth = Authorization::parse(header).unwrap();
        let uri: Uri = "/".parse().unwrap();
        let headers = headers(&[("host", "example.amazonaws.com"), ("x-amz-date", AT)]);
        let request = Signed {
            method: "GET",
            uri: &uri,
            headers: &headers,
            body: b"",
        };
        let err = auth
            .verify(request, SECRET, "service", parse_amz_date(AT).unwrap())
            .unwrap_err();
        assert_eq!(
            err.message,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20150829' != '20150830', from '20150830T123600Z'."
        );
    }
}
