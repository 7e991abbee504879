//! The guest half of an S3 SigV4 query-string presigned GET: the URL, the canonical request
//! and the string to sign. The host's `signer` derives the key and computes the signature.
//!
//! Reference: AWS "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)".

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use sha2::{Digest, Sha256};

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const SERVICE: &str = "s3";

/// Everything but SigV4's unreserved characters (`A-Z a-z 0-9 - _ . ~`) is encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// How the bucket appears in the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Addressing {
    /// `https://endpoint/bucket/key`
    Path,
    /// `https://bucket.endpoint/key`
    Virtual,
}

pub struct PresignRequest<'a> {
    /// `scheme://host[:port]`; `None` means AWS's regional endpoint.
    pub endpoint: Option<&'a str>,
    /// `None`: virtual-hosted on AWS when the bucket name allows it, path-style on custom endpoints.
    pub addressing: Option<Addressing>,
    pub region: &'a str,
    pub bucket: &'a str,
    pub key: &'a str,
    pub access_key_id: &'a str,
    pub session_token: Option<&'a str>,
    pub now_millis: u64,
    pub expires_in: i64,
}

/// A request ready for its signature.
pub struct Unsigned {
    /// `scheme://authority/path?canonical-query` without the signature.
    base_url: String,
    pub string_to_sign: String,
    /// `YYYYMMDD`, the credential scope's date.
    pub date: String,
}

impl Unsigned {
    pub fn url_with(&self, signature: &str) -> String {
        format!("{}&X-Amz-Signature={signature}", self.base_url)
    }
}

struct Endpoint {
    scheme: String,
    /// Host, with the port only when it is not the scheme's default.
    authority: String,
}

fn parse_endpoint(endpoint: &str) -> Result<Endpoint, String> {
    let uri: http::Uri = endpoint
        .parse()
        .map_err(|err| format!("endpoint: {endpoint:?} is not a URL: {err}"))?;
    let scheme = match uri.scheme_str() {
        Some(s @ ("http" | "https")) => s.to_string(),
        _ => {
            return Err(format!(
                "endpoint: {endpoint:?} must start with http:// or https://"
            ));
        }
    };
    let authority = uri
        .authority()
        .ok_or_else(|| format!("endpoint: {endpoint:?} has no host"))?;
    if authority.as_str().contains('@') {
        return Err("endpoint: must not contain user information".into());
    }
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err(format!(
            "endpoint: {endpoint:?} must be scheme://host[:port] only"
        ));
    }
    let host = authority.host().to_ascii_lowercase();
    let default_port = if scheme == "https" { 443 } else { 80 };
    let authority = match authority.port_u16() {
        Some(port) if port != default_port => format!("{host}:{port}"),
        _ => host,
    };
    Ok(Endpoint { scheme, authority })
}

/// Buckets that can be a DNS label: lowercase letters, digits and hyphens, 3 to 63 long.
/// Dotted names break TLS wildcard certificates, so they go path-style too.
fn virtual_host_compatible(bucket: &str) -> bool {
    (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !bucket.starts_with('-')
        && !bucket.ends_with('-')
}

/// Whether an endpoint's authority (`host[:port]`) is an IP address.
fn is_ip_host(authority: &str) -> bool {
    if authority.starts_with('[') {
        return true; // an IPv6 literal
    }
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host);
    host.parse::<core::net::Ipv4Addr>().is_ok()
}

fn encode(text: &str) -> String {
    utf8_percent_encode(text, UNRESERVED).to_string()
}

/// S3 encodes each path segment once and keeps the slashes.
fn encode_key(key: &str) -> String {
    key.split('/').map(encode).collect::<Vec<_>>().join("/")
}

impl PresignRequest<'_> {
    pub fn prepare(&self) -> Result<Unsigned, String> {
        if self.bucket.is_empty() {
            return Err("bucket: must not be empty".into());
        }
        if self.region.is_empty()
            || !self
                .region
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(format!("region: {:?} is not a region name", self.region));
        }
        let (endpoint, custom) = match self.endpoint {
            Some(endpoint) => (parse_endpoint(endpoint)?, true),
            None => (
                Endpoint {
                    scheme: "https".into(),
                    authority: format!("s3.{}.amazonaws.com", self.region),
                },
                false,
            ),
        };
        let addressing = match self.addressing {
            Some(Addressing::Virtual) if !virtual_host_compatible(self.bucket) => {
                return Err(format!(
                    "addressing: bucket {:?} cannot be used in a virtual-hosted URL",
                    self.bucket
                ));
            }
            // S3's rule, as the SDKs apply it: an IP address cannot carry the bucket as a
            // subdomain, so it is addressed path-style whatever was asked.
            Some(Addressing::Virtual) if is_ip_host(&endpoint.authority) => Addressing::Path,
            Some(addressing) => addressing,
            None if !custom && virtual_host_compatible(self.bucket) => Addressing::Virtual,
            None => Addressing::Path,
        };
        let (host, path) = match addressing {
            Addressing::Virtual => (
                format!("{}.{}", self.bucket, endpoint.authority),
                format!("/{}", encode_key(self.key)),
            ),
            Addressing::Path => (
                endpoint.authority.clone(),
                format!("/{}/{}", encode(self.bucket), encode_key(self.key)),
            ),
        };

        let amz_date = cafe_guest::timefmt::amz_date(self.now_millis);
        let date = amz_date[..8].to_string();
        let scope = format!("{date}/{}/{SERVICE}/aws4_request", self.region);
        let credential = format!("{}/{scope}", self.access_key_id);
        let mut query = vec![
            ("X-Amz-Algorithm", ALGORITHM.to_string()),
            ("X-Amz-Credential", credential),
            ("X-Amz-Date", amz_date.clone()),
            ("X-Amz-Expires", self.expires_in.to_string()),
            ("X-Amz-SignedHeaders", "host".to_string()),
        ];
        if let Some(token) = self.session_token {
            query.push(("X-Amz-Security-Token", token.to_string()));
        }
        query.sort_by(|a, b| a.0.cmp(b.0));
        let canonical_query = query
            .iter()
            .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
            .collect::<Vec<_>>()
            .join("&");

        let canonical_request =
            format!("GET\n{path}\n{canonical_query}\nhost:{host}\n\nhost\nUNSIGNED-PAYLOAD");
        let hashed = hex::encode(Sha256::digest(canonical_request.as_bytes()));
        let string_to_sign = format!("{ALGORITHM}\n{amz_date}\n{scope}\n{hashed}");
        Ok(Unsigned {
            base_url: format!("{}://{host}{path}?{canonical_query}", endpoint.scheme),
            string_to_sign,
            date,
        })
    }
}
