//! The `signer` capability: presigned report links. The host builds and checks what it
//! signs ([`LinkPolicy`]: a GET of a report object in the configured bucket, for at most
//! the configured lifetime, at the task's clock) and signs it with credentials that never
//! leave the host. A component cannot borrow the key for anything else.

mod host;
mod link;

pub use link::{LinkPolicy, LinkRequest, PresignedLink};

use std::time::SystemTime;

use anyhow::Context;

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

/// `credentials`, or an error saying that `needed_by` needs `[signer]` keys: every
/// endpoint but the embedded one (S3, SNS, Step Functions) takes the configured ones.
pub fn required<'a>(
    credentials: Option<&'a Credentials>,
    needed_by: &str,
) -> anyhow::Result<&'a Credentials> {
    credentials.with_context(|| {
        format!(
            "{needed_by} needs [signer] access_key_id and secret_access_key \
             (or source = \"environment\")"
        )
    })
}

/// Why a link was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SignError(pub String);

/// Something that makes report links.
pub trait Signer: Send + Sync + std::fmt::Debug {
    /// The access key id the links carry.
    fn access_key_id(&self) -> &str;
    /// A presigned URL for `request`, checked against the policy, signed at `now` (the
    /// task's clock).
    fn presign(&self, request: &LinkRequest, now: SystemTime) -> Result<PresignedLink, SignError>;
}

/// Signs with one fixed set of credentials (config, environment, Lambda's role, the
/// embedded endpoint's signing key).
#[derive(Debug, Clone)]
pub struct StaticSigner {
    credentials: Credentials,
    policy: LinkPolicy,
}

impl StaticSigner {
    /// A signer of links under `policy` with `credentials`.
    pub fn new(credentials: Credentials, policy: LinkPolicy) -> anyhow::Result<StaticSigner> {
        anyhow::ensure!(
            !credentials.access_key_id.is_empty() && !credentials.secret_access_key.is_empty(),
            "signer: access key id and secret access key must not be empty"
        );
        Ok(StaticSigner {
            credentials,
            policy,
        })
    }
}

impl Signer for StaticSigner {
    fn access_key_id(&self) -> &str {
        &self.credentials.access_key_id
    }

    fn presign(&self, request: &LinkRequest, now: SystemTime) -> Result<PresignedLink, SignError> {
        self.policy.presign(request, &self.credentials, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_keys_are_said_with_who_needs_them() {
        let err = required(None, "[notify] sns_topic_arn").unwrap_err();
        assert_eq!(
            err.to_string(),
            "[notify] sns_topic_arn needs [signer] access_key_id and secret_access_key \
             (or source = \"environment\")"
        );
        let credentials = Credentials {
            access_key_id: "AKID".into(),
            secret_access_key: "secret".into(),
            session_token: None,
            region: "us-east-1".into(),
        };
        assert_eq!(required(Some(&credentials), "x").unwrap(), &credentials);
    }
}
