//! The AWS JSON 1.0 protocol as Step Functions speaks it: `POST /` with
//! `X-Amz-Target: AWSStepFunctions.<Action>`, JSON in and out
//! (`application/x-amz-json-1.0`), errors as `{"__type", "message"}` with status 400
//! (500 for the service's own failures), dates as epoch seconds.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// The protocol's content type, for requests and answers.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// The target prefix of every Step Functions action.
pub const TARGET_PREFIX: &str = "AWSStepFunctions.";

/// An error answer, named as Step Functions names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SfnError {
    pub status: StatusCode,
    /// `__type`: `StateMachineDoesNotExist`, `InvalidArn`, ...
    pub code: &'static str,
    pub message: String,
}

impl SfnError {
    /// A client error (400), the status of every Step Functions exception.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }

    /// The service's own failure (500): the message says what failed, never a secret.
    pub fn internal(err: &anyhow::Error) -> Self {
        tracing::error!(error = %format!("{err:#}"), "a Step Functions API action failed");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "InternalServerError",
            message: format!("{err:#}"),
        }
    }

    /// `ValidationException` for a member that must be given.
    pub fn missing(member: &str) -> Self {
        Self::new(
            "ValidationException",
            format!(
                "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
            ),
        )
    }

    /// `ValidationException` for `maxResults` out of 0..=1000.
    pub fn max_results(value: i64) -> Self {
        Self::new(
            "ValidationException",
            format!(
                "1 validation error detected: Value '{value}' at 'maxResults' failed to satisfy constraint: Member must have value {} {}",
                if value < 0 {
                    "greater than or equal to"
                } else {
                    "less than or equal to"
                },
                if value < 0 { 0 } else { 1000 }
            ),
        )
    }

    /// Refuses a `nextToken` longer than the action takes (`ValidationException`).
    pub fn check_token(token: Option<&str>, max: usize) -> Result<(), SfnError> {
        match token {
            Some(token) if token.len() > max => Err(Self::new(
                "ValidationException",
                format!(
                    "1 validation error detected: Value '{token}' at 'nextToken' failed to satisfy constraint: Member must have length less than or equal to {max}"
                ),
            )),
            _ => Ok(()),
        }
    }

    /// `InvalidToken` for a `nextToken` this server did not give.
    pub fn invalid_token() -> Self {
        // AWS's own words, whatever the token (ListStateMachineAliases, recorded).
        Self::new("InvalidToken", "Invalid Token: 'Invalid token'")
    }
}

impl IntoResponse for SfnError {
    fn into_response(self) -> Response {
        let body = json!({ "__type": self.code, "message": self.message });
        answer(self.status, &body)
    }
}

/// An answer with the protocol's content type.
pub fn answer(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

/// The members of a request, read into `T`; serde's "missing field" becomes AWS's
/// `ValidationException`, anything else unreadable `SerializationException`.
pub fn members<T: DeserializeOwned>(body: Value) -> Result<T, SfnError> {
    serde_json::from_value(body).map_err(|err| {
        let text = err.to_string();
        match text
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            Some(member) => SfnError::missing(member),
            None => SfnError::new("SerializationException", text),
        }
    })
}

/// `maxResults` as the list actions take it: 0 (or none) means the default of 100.
pub fn page_size(max_results: Option<i64>) -> Result<usize, SfnError> {
    match max_results.unwrap_or(0) {
        0 => Ok(100),
        n @ 1..=1000 => Ok(n as usize),
        n => Err(SfnError::max_results(n)),
    }
}

/// An RFC 3339 date as the protocol's epoch seconds (milliseconds kept).
pub fn epoch(date: &str) -> Value {
    match time::OffsetDateTime::parse(date, &time::format_description::well_known::Rfc3339) {
        Ok(at) => {
            let millis = (at.unix_timestamp_nanos() / 1_000_000) as f64;
            json!(millis / 1000.0)
        }
        Err(_) => Value::Null,
    }
}

/// Replaces the named date members of `object` with epoch seconds.
pub fn epoch_members(object: &mut Value, members: &[&str]) {
    for member in members {
        if let Some(date) = object.get(*member).and_then(Value::as_str) {
            let seconds = epoch(date);
            object[*member] = seconds;
        }
    }
}

/// Checks an ARN is a Step Functions ARN of `kind` (`stateMachine`, `execution`), with
/// AWS's messages for what is not.
pub fn check_arn(arn: &str, kinds: &[&str]) -> Result<(), SfnError> {
    let invalid = |why: String| SfnError::new("InvalidArn", format!("Invalid Arn: '{why}'"));
    if !arn.starts_with("arn:") {
        return Err(invalid(format!("Invalid ARN prefix: {arn}")));
    }
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "states", region, account, kind, name]
            if partition.starts_with("aws")
                && !region.is_empty()
                && !account.is_empty()
                && !name.is_empty() =>
        {
            if kinds.contains(kind) {
                Ok(())
            } else {
                Err(invalid(format!(
                    "Resource type not valid in this context: {kind}"
                )))
            }
        }
        _ => Err(invalid(format!("Invalid ARN: {arn}"))),
    }
}

/// Names of state machines and executions: 1 to 80 characters, none AWS forbids.
pub fn check_name(name: &str) -> Result<(), SfnError> {
    const FORBIDDEN: &str = " <>{}[]?*\"#%\\^|~`$&,;:/";
    let bad = name
        .chars()
        .any(|c| FORBIDDEN.contains(c) || c.is_whitespace() || c.is_control());
    if name.is_empty() || name.chars().count() > 80 || bad {
        return Err(SfnError::new(
            "InvalidName",
            format!("Invalid Name: '{name}'"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_are_refused_with_aws_messages() {
        let machine = "arn:aws:states:us-east-1:111111111111:stateMachine:m";
        assert_eq!(check_arn(machine, &["stateMachine"]), Ok(()));
        let refused = |arn: &str, kinds: &[&str]| check_arn(arn, kinds).unwrap_err();
        // test_sfn_api.py::test_describe_invalid_arn_sm, recorded on AWS.
        let err = refused("not_a_valid_arn", &["stateMachine"]);
        assert_eq!(
            (err.code, err.message.as_str()),
            (
                "InvalidArn",
                "Invalid Arn: 'Invalid ARN prefix: not_a_valid_arn'"
            )
        );
        let err = refused(machine, &["execution"]);
        assert_eq!(
            err.message,
            "Invalid Arn: 'Resource type not valid in this context: stateMachine'"
        );
        let err = refused("arn:aws:s3:::bucket", &["stateMachine"]);
        assert_eq!(
            err.message,
            "Invalid Arn: 'Invalid ARN: arn:aws:s3:::bucket'"
        );
    }

    #[test]
    fn names_follow_aws_rules() {
        assert_eq!(check_name("report-2026_12.04"), Ok(()));
        for bad in ["", "a b", "a:b", "x/y", &"n".repeat(81)] {
            let err = check_name(bad).unwrap_err();
            assert_eq!(err.code, "InvalidName", "{bad:?}");
            assert_eq!(err.message, format!("Invalid Name: '{bad}'"));
        }
    }

    #[test]
    fn missing_members_are_validation_errors_named_as_aws_names_them() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        #[allow(dead_code)]
        struct Input {
            state_machine_arn: String,
        }
        let err = members::<Input>(json!({})).unwrap_err();
        assert_eq!(err.code, "ValidationException");
        assert_eq!(
            err.message,
            "1 validation error detected: Value null at 'stateMachineArn' failed to satisfy constraint: Member must not be null"
        );
        let err = members::<Input>(json!({"stateMachineArn": 5})).unwrap_err();
        assert_eq!(err.code, "SerializationException");
    }

    #[test]
    fn page_sizes_and_dates() {
        assert_eq!(page_size(None), Ok(100));
        assert_eq!(page_size(Some(0)), Ok(100));
        assert_eq!(page_size(Some(1000)), Ok(1000));
        // test_list_sms_pagination: invalid-param-too-large, recorded on AWS.
        assert_eq!(
            page_size(Some(1001)).unwrap_err().message,
            "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000"
        );
        // test_list_executions_pagination: invalid-param-long-nextToken.
        let long = "t".repeat(3097);
        assert_eq!(
            SfnError::check_token(Some(&long), 3096)
                .unwrap_err()
                .message,
            format!(
                "1 validation error detected: Value '{long}' at 'nextToken' failed to satisfy constraint: Member must have length less than or equal to 3096"
            )
        );
        assert_eq!(SfnError::check_token(Some("t"), 3096), Ok(()));
        assert_eq!(epoch("2026-12-04T10:00:00.123Z"), json!(1_796_378_400.123));
        assert_eq!(epoch("not a date"), Value::Null);
    }
}
