//! Publishing to an SNS topic through aws-sdk-sns (the AWS path; also moto). The topic's
//! subscribers (email on AWS) receive the message.

use async_trait::async_trait;
use aws_sdk_sns::config::{BehaviorVersion, Region};
use aws_sdk_sns::types::MessageAttributeValue;

use super::{Notifier, NotifyError};
use crate::signer::Credentials;

/// The message attribute naming the one address a message is for.
pub const RECIPIENT_ATTRIBUTE: &str = "recipient";

/// SNS allows subjects of at most 100 ASCII characters, without line breaks.
const MAX_SUBJECT: usize = 100;

/// Publishes every message to one topic.
#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsNotifier {
    /// A publisher to `topic_arn` (`arn:aws:sns:REGION:ACCOUNT:NAME`, whose region the
    /// client uses) at `endpoint` (AWS's when `None`).
    pub fn new(
        topic_arn: &str,
        endpoint: Option<&str>,
        credentials: &Credentials,
    ) -> anyhow::Result<SnsNotifier> {
        let region = topic_region(topic_arn)
            .ok_or_else(|| anyhow::anyhow!("{topic_arn:?} is not an SNS topic ARN"))?;
        let mut builder = aws_sdk_sns::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .credentials_provider(credentials.for_sdk());
        if let Some(endpoint) = endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        Ok(SnsNotifier {
            client: aws_sdk_sns::Client::from_conf(builder.build()),
            topic_arn: topic_arn.to_string(),
        })
    }
}

/// The region of `arn:aws:sns:REGION:ACCOUNT:NAME`.
fn topic_region(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "sns", region, _, name] if !region.is_empty() && !name.is_empty() => {
            Some(region)
        }
        _ => None,
    }
}

/// The subject as SNS accepts it: printable ASCII (others become `?`), one line, at
/// most 100 characters.
fn sns_subject(subject: &str) -> String {
    subject
        .chars()
        .map(|c| match c {
            '\r' | '\n' | '\t' => ' ',
            c if c.is_ascii_graphic() || c == ' ' => c,
            _ => '?',
        })
        .take(MAX_SUBJECT)
        .collect::<String>()
        .trim()
        .to_string()
}

#[async_trait]
impl Notifier for SnsNotifier {
    async fn publish(
        &self,
        recipient: Option<&str>,
        subject: &str,
        body: &str,
    ) -> Result<String, NotifyError> {
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(sns_subject(subject))
            .message(body);
        // Each address is subscribed with a filter policy on this attribute, so only the
        // requester's subscription matches.
        if let Some(recipient) = recipient {
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(recipient)
                .build()
                .map_err(|err| NotifyError::Message(err.to_string()))?;
            request = request.message_attributes(RECIPIENT_ATTRIBUTE, attribute);
        }
        let output = request.send().await.map_err(|err| {
            NotifyError::Delivery(format!(
                "publishing to the SNS topic {} failed: {}",
                self.topic_arn,
                crate::error_text(&err)
            ))
        })?;
        let id = output.message_id().unwrap_or_default().to_string();
        tracing::info!(message_id = %id, topic = %self.topic_arn, "message published to SNS");
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_come_from_topic_arns() {
        assert_eq!(
            topic_region("arn:aws:sns:eu-west-1:123456789012:cafe"),
            Some("eu-west-1")
        );
        assert_eq!(topic_region("arn:aws:sqs:eu-west-1:1:q"), None);
        assert_eq!(topic_region("cafe"), None);
    }

    #[test]
    fn subjects_fit_sns_rules() {
        assert_eq!(sns_subject("Café report\nready"), "Caf? report ready");
        assert_eq!(sns_subject(&"x".repeat(150)).len(), 100);
    }
}
