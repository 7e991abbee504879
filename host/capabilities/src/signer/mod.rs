//! The `signer` capability: SigV4 signatures with the host's credentials. Guests build
//! the string to sign; the secret access key never leaves the host.
//!
//! Only strings shaped like a SigV4 string to sign, for this moment's date window and an
//! allowed service, are signed: a component cannot borrow the key for arbitrary MACs.

mod host;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::macros::format_description;
use time::{Date, PrimitiveDateTime};

/// Credentials in the AWS shape.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The public key id.
    pub access_key_id: String,
    /// The secret; never printed, never passed to a component.
    pub secret_access_key: String,
    /// Present for temporary credentials (STS, Lambda).
    pub session_token: Option<String>,
    /// The region signatures are scoped to by default.
    pub region: String,
    /// Services a component may obtain signatures for (e.g. `s3`).
    pub services: Vec<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"****")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "****"),
            )
            .field("region", &self.region)
            .field("services", &self.services)
            .finish()
    }
}

impl Credentials {
    /// The same credentials for AWS SDK clients.
    pub fn for_sdk(&self) -> aws_credential_types::Credentials {
        aws_credential_types::Credentials::new(
            self.access_key_id.clone(),
            self.secret_access_key.clone(),
            self.session_token.clone(),
            None,
            "cafe-report",
        )
    }
}

/// The public part of the credentials, which a presigned URL carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The public key id.
    pub access_key_id: String,
    /// Present for temporary credentials.
    pub session_token: Option<String>,
    /// The default region.
    pub region: String,
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SignError(pub String);

/// Something that signs SigV4 strings to sign.
pub trait Signer: Send + Sync + std::fmt::Debug {
    /// The public part of the credentials.
    fn identity(&self) -> Identity;
    /// Hex HMAC-SHA256 of `string_to_sign` with the key for (`date` YYYYMMDD, region, service).
    /// `now` is the task's clock: the string's timestamp must be close to it.
    fn sign(
        &self,
        string_to_sign: &str,
        date: &str,
        region: &str,
        service: &str,
        now: SystemTime,
    ) -> Result<String, SignError>;
}

/// Signs with one fixed set of credentials (config, environment, Lambda's role).
#[derive(Debug, Clone)]
pub struct StaticSigner {
    credentials: Credentials,
    /// How far a string to sign's timestamp may be from the host's clock.
    skew: Duration,
}

impl StaticSigner {
    /// A signer for `credentials`.
    pub fn new(credentials: Credentials) -> anyhow::Result<StaticSigner> {
        anyhow::ensure!(
            !credentials.access_key_id.is_empty() && !credentials.secret_access_key.is_empty(),
            "signer: access key id and secret access key must not be empty"
        );
        Ok(StaticSigner {
            credentials,
            skew: Duration::from_secs(15 * 60),
        })
    }

    /// The credentials, for backends of the host itself (e.g. the S3 client).
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }
}

fn parse_amz_date(text: &str) -> Option<SystemTime> {
    let fmt = format_description!("[year][month][day]T[hour][minute][second]Z");
    let at = PrimitiveDateTime::parse(text, fmt).ok()?.assume_utc();
    let secs = u64::try_from(at.unix_timestamp()).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

fn parse_date(text: &str) -> Option<SystemTime> {
    let fmt = format_description!("[year][month][day]");
    let day = Date::parse(text, fmt).ok()?;
    let secs = u64::try_from(day.midnight().assume_utc().unix_timestamp()).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

impl Signer for StaticSigner {
    fn identity(&self) -> Identity {
        Identity {
            access_key_id: self.credentials.access_key_id.clone(),
            session_token: self.credentials.session_token.clone(),
            region: self.credentials.region.clone(),
        }
    }

    fn sign(
        &self,
        string_to_sign: &str,
        date: &str,
        region: &str,
        service: &str,
        now: SystemTime,
    ) -> Result<String, SignError> {
        let refuse = |why: &str| Err(SignError(format!("refusing to sign: {why}")));
        if !self.credentials.services.iter().any(|s| s == service) {
            return refuse(&format!("service {service:?} is not allowed"));
        }
        let day = parse_date(date).ok_or_else(|| SignError(format!("bad date {date:?}")))?;
        // AWS4-HMAC-SHA256 \n <amz-date> \n <date>/<region>/<service>/aws4_request \n <sha256 hex>
        let lines: Vec<&str> = string_to_sign.split('\n').collect();
        let [algorithm, amz_date, scope, hash] = lines[..] else {
            return refuse("not a SigV4 string to sign (expected 4 lines)");
        };
        if algorithm != "AWS4-HMAC-SHA256" {
            return refuse("algorithm must be AWS4-HMAC-SHA256");
        }
        if scope != format!("{date}/{region}/{service}/aws4_request") {
            return refuse("credential scope does not match date, region and service");
        }
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return refuse("last line must be a hex SHA-256 digest");
        }
        let stamped = parse_amz_date(amz_date)
            .ok_or_else(|| SignError(format!("bad timestamp {amz_date:?}")))?;
        if !amz_date.starts_with(date) {
            return refuse("timestamp is not on the scope's date");
        }
        let drift = now
            .duration_since(stamped)
            .or_else(|_| stamped.duration_since(now))
            .unwrap_or_default();
        if drift > self.skew {
            return refuse("timestamp is too far from the host's clock");
        }
        let key = aws_sigv4::sign::v4::generate_signing_key(
            &self.credentials.secret_access_key,
            day,
            region,
            service,
        );
        Ok(aws_sigv4::sign::v4::calculate_signature(
            key,
            string_to_sign.as_bytes(),
        ))
    }
}
