//! Report links: what a component may ask a link for ([`LinkRequest`], checked against the
//! [`LinkPolicy`]) and the SigV4 query-string presigned GET the host makes of it.
//!
//! The URL layout (endpoint, path or virtual-hosted addressing, key encoding) is S3's, as
//! aws-sdk-s3 lays it out; the signature is aws-sigv4's. The SDK's own presigner is not
//! used because it adds `x-id=GetObject` to every URL and takes its clock from the client
//! rather than from the task.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody, SignableRequest,
    SignatureLocation, SigningSettings, UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::{Credentials, SignError};

/// What a component asks a link for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRequest {
    /// Only `GET` is signed.
    pub method: String,
    /// Must be the policy's bucket.
    pub bucket: String,
    /// Under the report prefix (the rule `objects.put` applies).
    pub key: String,
    /// Seconds, 1 to the policy's maximum.
    pub expires_in: u32,
}

/// A presigned URL and when it stops working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedLink {
    /// `scheme://host/path?X-Amz-…&X-Amz-Signature=…`.
    pub url: String,
    /// Milliseconds since the Unix epoch.
    pub expires_at_ms: u64,
}

/// What links may point at, and where: fixed by the host's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkPolicy {
    /// The report bucket.
    pub bucket: String,
    /// `scheme://host[:port]` of the S3 endpoint; `None`: AWS's regional endpoint.
    pub endpoint: Option<String>,
    /// Path-style URLs on a configured endpoint (`endpoint/bucket/key`).
    pub path_style: bool,
    /// The region signatures are scoped to.
    pub region: String,
    /// The longest lifetime a link may have (`[links] max_expires_seconds`).
    pub max_expires_seconds: u64,
}

/// SigV4 presigned URLs live at most seven days, whatever the configuration says.
const SIGV4_MAX_EXPIRES: u64 = 604_800;

/// Everything but SigV4's unreserved characters (`A-Z a-z 0-9 - _ . ~`) is encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

impl LinkPolicy {
    /// Refuses what a report link never needs; the refusal names the rule.
    pub fn check(&self, request: &LinkRequest) -> Result<(), SignError> {
        let refuse = |why: String| Err(SignError(format!("refusing to sign: {why}")));
        if request.method != "GET" {
            return refuse(format!(
                "only GET links are signed, not {:?}",
                request.method
            ));
        }
        if request.bucket != self.bucket {
            return refuse(format!(
                "links point only into the bucket {:?}, not {:?}",
                self.bucket, request.bucket
            ));
        }
        crate::objects::check_report_key(&request.key).or_else(refuse)?;
        let max = self.max_expires_seconds.min(SIGV4_MAX_EXPIRES);
        if request.expires_in == 0 || u64::from(request.expires_in) > max {
            return refuse(format!(
                "expires_in must be 1 to {max} seconds, not {}",
                request.expires_in
            ));
        }
        Ok(())
    }

    /// `(scheme, host[:port], path)` of the object's URL.
    fn locate(&self, key: &str) -> Result<(String, String, String), SignError> {
        let (scheme, authority, custom) = match &self.endpoint {
            Some(endpoint) => {
                let (scheme, authority) = parse_endpoint(endpoint)?;
                (scheme, authority, true)
            }
            None => (
                "https".to_string(),
                format!("s3.{}.amazonaws.com", self.region),
                false,
            ),
        };
        // As the SDK does: virtual-hosted on AWS when the bucket can be a DNS label, and on
        // a configured endpoint unless path style is asked for or the host is an address.
        let virtual_hosted = virtual_host_compatible(&self.bucket)
            && !(custom && (self.path_style || is_ip_host(&authority)));
        let key_path = key
            .split('/')
            .map(|segment| utf8_percent_encode(segment, UNRESERVED).to_string())
            .collect::<Vec<_>>()
            .join("/");
        Ok(if virtual_hosted {
            (
                scheme,
                format!("{}.{authority}", self.bucket),
                format!("/{key_path}"),
            )
        } else {
            let bucket = utf8_percent_encode(&self.bucket, UNRESERVED);
            (scheme, authority, format!("/{bucket}/{key_path}"))
        })
    }

    /// The checked request as a URL signed with `credentials` at `now`.
    pub fn presign(
        &self,
        request: &LinkRequest,
        credentials: &Credentials,
        now: SystemTime,
    ) -> Result<PresignedLink, SignError> {
        self.check(request)?;
        self.signed_url(&request.key, request.expires_in, credentials, now)
    }

    /// A presigned GET of `key`, unchecked.
    fn signed_url(
        &self,
        key: &str,
        expires_in: u32,
        credentials: &Credentials,
        now: SystemTime,
    ) -> Result<PresignedLink, SignError> {
        let (scheme, host, path) = self.locate(key)?;
        let base = format!("{scheme}://{host}{path}");
        let expires_in = Duration::from_secs(u64::from(expires_in));

        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(expires_in);
        // S3's rules: the path is encoded once and never normalised, the payload unsigned.
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
        settings.session_token_mode = SessionTokenMode::Include;
        let identity = credentials.for_sdk().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(now)
            .settings(settings)
            .build()
            .map_err(|err| SignError(format!("cannot sign: {err}")))?
            .into();
        let signable = SignableRequest::new(
            "GET",
            &base,
            std::iter::empty(),
            SignableBody::UnsignedPayload,
        )
        .map_err(|err| SignError(format!("cannot sign {base}: {err}")))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|err| SignError(format!("cannot sign {base}: {err}")))?
            .into_parts();
        let mut http_request = http::Request::get(&base)
            .body(())
            .map_err(|err| SignError(format!("cannot sign {base}: {err}")))?;
        instructions.apply_to_request_http1x(&mut http_request);

        let now_ms = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Ok(PresignedLink {
            url: http_request.uri().to_string(),
            expires_at_ms: now_ms.saturating_add(expires_in.as_millis() as u64),
        })
    }
}

/// `scheme://host[:port]` (nothing else) -> (scheme, host with a non-default port).
fn parse_endpoint(endpoint: &str) -> Result<(String, String), SignError> {
    let bad = |why: &str| SignError(format!("the objects endpoint {endpoint:?} {why}"));
    let uri: http::Uri = endpoint.parse().map_err(|_| bad("is not a URL"))?;
    let scheme = match uri.scheme_str() {
        Some(scheme @ ("http" | "https")) => scheme.to_string(),
        _ => return Err(bad("must start with http:// or https://")),
    };
    let authority = uri.authority().ok_or_else(|| bad("has no host"))?;
    if authority.as_str().contains('@') || !matches!(uri.path(), "" | "/") || uri.query().is_some()
    {
        return Err(bad("must be scheme://host[:port] only"));
    }
    let host = authority.host().to_ascii_lowercase();
    let default_port = if scheme == "https" { 443 } else { 80 };
    let authority = match authority.port_u16() {
        Some(port) if port != default_port => format!("{host}:{port}"),
        _ => host,
    };
    Ok((scheme, authority))
}

/// Buckets that can be a DNS label: lowercase letters, digits and hyphens, 3 to 63 long.
/// Dotted names break TLS wildcard certificates, so they go path-style.
fn virtual_host_compatible(bucket: &str) -> bool {
    (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !bucket.starts_with('-')
        && !bucket.ends_with('-')
}

/// Whether an authority (`host[:port]`) is an IP address, which cannot carry the bucket as
/// a subdomain.
fn is_ip_host(authority: &str) -> bool {
    if authority.starts_with('[') {
        return true;
    }
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host);
    host.parse::<std::net::Ipv4Addr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(endpoint: Option<&str>, path_style: bool) -> LinkPolicy {
        LinkPolicy {
            bucket: "examplebucket".into(),
            endpoint: endpoint.map(String::from),
            path_style,
            region: "us-east-1".into(),
            max_expires_seconds: 86_400,
        }
    }

    fn request(key: &str) -> LinkRequest {
        LinkRequest {
            method: "GET".into(),
            bucket: "examplebucket".into(),
            key: key.into(),
            expires_in: 86_400,
        }
    }

    /// AWS's worked example in "Authenticating Requests: Using Query Parameters (AWS
    /// Signature Version 4)", URL and signature as documented.
    #[test]
    fn the_documented_example_signs_alike() {
        let credentials = Credentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
            region: "us-east-1".into(),
        };
        let at = UNIX_EPOCH + Duration::from_secs(1_369_353_600); // 2013-05-24T00:00:00Z
        let link = policy(Some("https://s3.amazonaws.com"), false)
            .signed_url("test.txt", 86_400, &credentials, at)
            .unwrap();
        assert_eq!(
            link.url,
            "https://examplebucket.s3.amazonaws.com/test.txt?\
             X-Amz-Algorithm=AWS4-HMAC-SHA256&\
             X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&\
             X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&\
             X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        );
        assert_eq!(link.expires_at_ms, (1_369_353_600 + 86_400) * 1000);
    }

    #[test]
    fn addressing_follows_the_endpoint() {
        let cases = [
            (
                None,
                true,
                "https://examplebucket.s3.us-east-1.amazonaws.com/reports/a%20b.html",
            ),
            (
                Some("http://127.0.0.1:9000"),
                false,
                "http://127.0.0.1:9000/examplebucket/reports/a%20b.html",
            ),
            (
                Some("https://s3.example.com"),
                false,
                "https://examplebucket.s3.example.com/reports/a%20b.html",
            ),
            (
                Some("https://s3.example.com:443/"),
                true,
                "https://s3.example.com/examplebucket/reports/a%20b.html",
            ),
        ];
        let credentials = Credentials {
            access_key_id: "AKID".into(),
            secret_access_key: "secret".into(),
            session_token: None,
            region: "us-east-1".into(),
        };
        for (endpoint, path_style, expected) in cases {
            let link = policy(endpoint, path_style)
                .presign(&request("reports/a b.html"), &credentials, UNIX_EPOCH)
                .unwrap();
            assert_eq!(link.url.split('?').next(), Some(expected), "{endpoint:?}");
        }
    }

    #[test]
    fn what_a_report_link_never_needs_is_refused() {
        let policy = LinkPolicy {
            max_expires_seconds: 3600,
            ..policy(None, true)
        };
        let cases = [
            (
                LinkRequest {
                    method: "PUT".into(),
                    ..request("reports/x.html")
                },
                "only GET links are signed, not \"PUT\"",
            ),
            (
                LinkRequest {
                    bucket: "other".into(),
                    ..request("reports/x.html")
                },
                "links point only into the bucket \"examplebucket\", not \"other\"",
            ),
            (
                request("components/presign.wasm"),
                "the key \"components/presign.wasm\" is refused: components reach only keys under reports/",
            ),
            (
                request("reports/../x"),
                "the key \"reports/../x\" is refused: a segment is empty, \".\" or \"..\"",
            ),
            (
                LinkRequest {
                    expires_in: 31_536_000,
                    ..request("reports/x.html")
                },
                "expires_in must be 1 to 3600 seconds, not 31536000",
            ),
            (
                LinkRequest {
                    expires_in: 0,
                    ..request("reports/x.html")
                },
                "expires_in must be 1 to 3600 seconds, not 0",
            ),
        ];
        for (request, why) in cases {
            assert_eq!(
                policy.check(&request),
                Err(SignError(format!("refusing to sign: {why}"))),
                "{request:?}"
            );
        }
    }
}
