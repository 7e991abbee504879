//! Who may do what on the embedded endpoint (an s3s [`S3Access`] policy). Every mail
//! recipient can reach the endpoint, and every link shows the signing key's id, so a valid
//! signature is not enough:
//! - the signing key opens report objects only, by SigV4 presigned GET, for at most the
//!   configured lifetime;
//! - the writer key (the host's own client) reaches objects under the prefixes the host
//!   writes (reports, component versions), nothing bucket-wide;
//! - Signature Version 2 (which lets a link live for years) and anonymous requests are
//!   refused; so is every other key.

use s3s::access::{S3Access, S3AccessContext};
use s3s::path::S3Path;
use s3s::{S3Result, s3_error};

use cafe_report_base::limits::{COMPONENTS_PREFIX, REPORT_PREFIX};

/// The embedded endpoint's policy.
#[derive(Debug, Clone)]
pub struct ReportAccess {
    /// The bucket served.
    pub bucket: String,
    /// The host's own key id.
    pub writer: String,
    /// The report links' key id.
    pub signing: String,
    /// The longest `X-Amz-Expires` a link may carry.
    pub max_expires_seconds: u64,
}

/// Query parameters of the request, decoded, names lowercased.
fn query(cx: &S3AccessContext<'_>) -> Vec<(String, String)> {
    let query = cx.uri().query().unwrap_or_default();
    form_urlencoded::parse(query.as_bytes())
        .map(|(name, value)| (name.to_ascii_lowercase(), value.into_owned()))
        .collect()
}

impl ReportAccess {
    fn object_in_bucket<'a>(&self, path: &'a S3Path) -> Option<&'a str> {
        match path {
            S3Path::Object { bucket, key } if **bucket == *self.bucket => Some(key),
            _ => None,
        }
    }

    fn decide(&self, cx: &S3AccessContext<'_>) -> Result<(), String> {
        let Some(credentials) = cx.credentials() else {
            return Err("a signature is required".into());
        };
        let params = query(cx);
        let param = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let header_auth = cx
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if param("awsaccesskeyid").is_some() || header_auth.starts_with("AWS ") {
            return Err("Signature Version 2 is not accepted".into());
        }
        let key = self.object_in_bucket(cx.s3_path());
        let access_key = credentials.access_key.as_str();
        if access_key == self.signing {
            let Some(key) = key.filter(|k| k.starts_with(REPORT_PREFIX)) else {
                return Err(format!("links open only objects under {REPORT_PREFIX}"));
            };
            if cx.s3_op().name() != "GetObject" || param("x-amz-signature").is_none() {
                return Err(format!(
                    "this key opens {key:?} only by a presigned GET, not {}",
                    cx.s3_op().name()
                ));
            }
            let expires: u64 = param("x-amz-expires")
                .and_then(|v| v.parse().ok())
                .ok_or("the link has no X-Amz-Expires")?;
            if expires > self.max_expires_seconds {
                return Err(format!(
                    "links live at most {} seconds, this one {expires}",
                    self.max_expires_seconds
                ));
            }
            return Ok(());
        }
        if access_key == self.writer {
            return match key {
                Some(key)
                    if [REPORT_PREFIX, COMPONENTS_PREFIX]
                        .iter()
                        .any(|p| key.starts_with(p)) =>
                {
                    Ok(())
                }
                _ => Err(format!(
                    "the host's key reaches only objects under {REPORT_PREFIX} and {COMPONENTS_PREFIX}"
                )),
            };
        }
        Err("this key has no access here".into())
    }
}

#[async_trait::async_trait]
impl S3Access for ReportAccess {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        self.decide(cx).map_err(|why| {
            tracing::debug!(op = cx.s3_op().name(), %why, "embedded S3: access denied");
            s3_error!(AccessDenied, "{why}")
        })
    }
}
