//! Database credentials from an AWS Secrets Manager secret (`[sql] secret`): the JSON
//! object RDS and Secrets Manager's rotation functions write, of which the host reads
//! `username` and `password`. The URL says where the database is; the secret says who
//! connects. Read once when the backend opens and again when the database refuses the
//! login (the secret was rotated), never logged: errors name the secret, not its text.

use aws_sdk_secretsmanager::config::{BehaviorVersion, Region};

use crate::signer::Credentials;

/// A login read from the secret.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Login {
    /// The MySQL user.
    pub username: String,
    /// Its password; never printed.
    pub password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("username", &self.username)
            .field("password", &"****")
            .finish()
    }
}

/// One secret and the client that reads it.
#[derive(Debug, Clone)]
pub struct DatabaseSecret {
    client: aws_sdk_secretsmanager::Client,
    arn: String,
}

impl DatabaseSecret {
    /// The secret `arn` (`arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME`, whose region
    /// the client uses), read at `endpoint` (AWS's when `None`) with `credentials`.
    pub fn new(
        arn: &str,
        endpoint: Option<&str>,
        credentials: &Credentials,
    ) -> anyhow::Result<DatabaseSecret> {
        let region = secret_region(arn).ok_or_else(|| {
            anyhow::anyhow!(
                "[sql] secret {arn:?} is not a Secrets Manager secret ARN \
                 (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)"
            )
        })?;
        let mut builder = aws_sdk_secretsmanager::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .credentials_provider(credentials.for_sdk());
        if let Some(endpoint) = endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        Ok(DatabaseSecret {
            client: aws_sdk_secretsmanager::Client::from_conf(builder.build()),
            arn: arn.to_string(),
        })
    }

    /// The secret's ARN.
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// Reads the current version of the secret.
    pub async fn read(&self) -> anyhow::Result<Login> {
        let value = self
            .client
            .get_secret_value()
            .secret_id(&self.arn)
            .send()
            .await
            .map_err(|err| {
                anyhow::anyhow!(
                    "reading the database secret {}: {}",
                    self.arn,
                    crate::error_text(&err)
                )
            })?;
        let text = value.secret_string().ok_or_else(|| {
            anyhow::anyhow!(
                "the database secret {} holds binary data, not a JSON object with username and password",
                self.arn
            )
        })?;
        parse(text).map_err(|why| anyhow::anyhow!("the database secret {} {why}", self.arn))
    }
}

/// The login in a secret's text. The reason it is not one never quotes the text: serde's
/// messages would (`invalid type: string "…"`), so they are not passed on.
fn parse(text: &str) -> Result<Login, &'static str> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|_| "is not JSON (expected an object)")?;
    let field = |name: &str| value.get(name).and_then(serde_json::Value::as_str);
    match (field("username"), field("password")) {
        (Some(username), Some(password)) if !username.is_empty() => Ok(Login {
            username: username.to_string(),
            password: password.to_string(),
        }),
        _ => Err("has no string fields username and password"),
    }
}

/// The region of `arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME`.
fn secret_region(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    match parts.as_slice() {
        ["arn", _, "secretsmanager", region, _, "secret", name]
            if !region.is_empty() && !name.is_empty() =>
        {
            Some(region)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_gives_its_username_and_password() {
        let login = parse(
            r#"{"engine":"mysql","host":"db","username":"reader","password":"s3cr3t","port":3306}"#,
        )
        .unwrap();
        assert_eq!(login.username, "reader");
        assert_eq!(login.password, "s3cr3t");
        assert!(!format!("{login:?}").contains("s3cr3t"));
    }

    #[test]
    fn a_malformed_secret_is_refused_without_quoting_it() {
        for text in [
            "hunter2-not-json",
            r#"["hunter2"]"#,
            r#"{"username":"reader"}"#,
            r#"{"username":"","password":"hunter2"}"#,
            r#"{"username":"reader","password":42}"#,
            r#"{"user":"reader","pass":"hunter2"}"#,
        ] {
            let why = parse(text).unwrap_err();
            assert!(!why.contains("hunter2") && !why.contains("reader"), "{why}");
        }
        assert_eq!(
            parse("hunter2").unwrap_err(),
            "is not JSON (expected an object)"
        );
        assert_eq!(
            parse(r#"{"username":"reader"}"#).unwrap_err(),
            "has no string fields username and password"
        );
    }

    #[test]
    fn regions_come_from_secret_arns() {
        assert_eq!(
            secret_region("arn:aws:secretsmanager:eu-west-1:123456789012:secret:cafe/db-AbCdEf"),
            Some("eu-west-1")
        );
        assert_eq!(
            secret_region("arn:aws:secretsmanager:us-east-1:1:secret:a:b"),
            Some("us-east-1"),
            "a name may hold colons"
        );
        for arn in [
            "cafe/db",
            "arn:aws:sns:us-east-1:1:topic",
            "arn:aws:secretsmanager::1:secret:x",
        ] {
            assert_eq!(secret_region(arn), None, "{arn}");
        }
    }
}
