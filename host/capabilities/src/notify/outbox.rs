//! The outbox: one `<id>.eml` (RFC 5322, readable by any mail client) and one `<id>.json`
//! per message, each written to a temporary name, fsynced and renamed, so readers (and a
//! restart after a power loss) never see half. A message published once per key has the
//! key's digest as its id, so publishing it again finds it instead of writing a second.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use lettre::Message;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use serde::{Deserialize, Serialize};

use super::{Notifier, NotifyError};
use crate::config::NotifyConfig;

/// What the `.json` beside each `.eml` records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The id `publish` returned (also the file stem).
    pub message_id: String,
    /// RFC 3339 time the message was written.
    pub created_at: String,
    /// Sender.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// Whether an SMTP server accepted it (`false` for outbox-only delivery).
    pub delivered: bool,
}

/// A directory of messages.
#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
    from: Mailbox,
    to: Vec<Mailbox>,
}

impl Outbox {
    /// An outbox in `dir` (created), with sender and recipients from `config`.
    pub fn new(dir: PathBuf, config: &NotifyConfig) -> anyhow::Result<Outbox> {
        std::fs::create_dir_all(&dir)?;
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|err| anyhow::anyhow!("notify.from {:?}: {err}", config.from))?;
        let to = config
            .to
            .iter()
            .map(|addr| {
                addr.parse::<Mailbox>()
                    .map_err(|err| anyhow::anyhow!("notify.to {addr:?}: {err}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(!to.is_empty(), "notify.to must name at least one recipient");
        Ok(Outbox { dir, from, to })
    }

    /// The outbox directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Who receives a message: the recipient alone when there is one, else every
    /// configured address.
    fn recipients(&self, recipient: Option<&str>) -> Result<Vec<Mailbox>, NotifyError> {
        match recipient {
            Some(addr) => addr
                .parse::<Mailbox>()
                .map(|mailbox| vec![mailbox])
                .map_err(|err| {
                    NotifyError::Message(format!(
                        "the recipient {addr:?} is not an email address: {err}"
                    ))
                }),
            None => Ok(self.to.clone()),
        }
    }

    /// Builds the email for a message.
    fn email(
        &self,
        id: &str,
        to: &[Mailbox],
        subject: &str,
        body: &str,
    ) -> Result<Message, NotifyError> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(subject)
            .message_id(Some(format!("<{id}@cafe-report>")));
        for to in to {
            builder = builder.to(to.clone());
        }
        builder
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .map_err(|err| NotifyError::Message(format!("building the email failed: {err}")))
    }

    /// A new message id: its time first, so ids sort as messages were written.
    fn new_message_id() -> String {
        format!(
            "{}-{}",
            time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000,
            crate::new_id()
        )
    }

    /// The message id of idempotency key `key`, and the message when it was written. The
    /// id is the key's digest, so every call for a key finds the same one without a
    /// record of its own; a message cut short (its `.json` missing) is written again.
    pub(crate) async fn reserve(
        &self,
        key: &str,
    ) -> Result<(String, Option<OutboxEntry>), NotifyError> {
        use sha2::Digest;
        let digest = hex::encode(sha2::Sha256::digest(key.as_bytes()));
        let id = format!("once-{}", &digest[..32]);
        let json = self.dir.join(format!("{id}.json"));
        match tokio::fs::read(&json).await {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(|entry| (id, Some(entry)))
                .map_err(|err| NotifyError::Outbox(format!("reading {}: {err}", json.display()))),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok((id, None)),
            Err(err) => Err(NotifyError::Outbox(format!(
                "reading {}: {err}",
                json.display()
            ))),
        }
    }

    /// The email of a written message, as it was written.
    pub(crate) fn email_of(&self, entry: &OutboxEntry) -> Result<Message, NotifyError> {
        let to = entry
            .to
            .iter()
            .map(|to| to.parse::<Mailbox>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| NotifyError::Message(format!("a kept recipient: {err}")))?;
        self.email(&entry.message_id, &to, &entry.subject, &entry.body)
    }

    /// Writes a new message; returns its id, entry and email.
    pub(crate) async fn write(
        &self,
        recipient: Option<&str>,
        subject: &str,
        body: &str,
    ) -> Result<(OutboxEntry, Message), NotifyError> {
        self.write_as(Self::new_message_id(), recipient, subject, body)
            .await
    }

    /// Writes a message with id `id`.
    pub(crate) async fn write_as(
        &self,
        id: String,
        recipient: Option<&str>,
        subject: &str,
        body: &str,
    ) -> Result<(OutboxEntry, Message), NotifyError> {
        let to = self.recipients(recipient)?;
        let now = time::OffsetDateTime::now_utc();
        let email = self.email(&id, &to, subject, body)?;
        let entry = OutboxEntry {
            message_id: id,
            created_at: now
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            from: self.from.to_string(),
            to: to.iter().map(ToString::to_string).collect(),
            subject: subject.to_string(),
            body: body.to_string(),
            delivered: false,
        };
        self.save(&entry, Some(&email.formatted())).await?;
        Ok((entry, email))
    }

    /// Writes (or rewrites) a message's `.json`, and its `.eml` when given: both on disk
    /// before either name appears, the `.json` (what says the message exists) last.
    pub(crate) async fn save(
        &self,
        entry: &OutboxEntry,
        eml: Option<&[u8]>,
    ) -> Result<(), NotifyError> {
        let json = serde_json::to_vec_pretty(entry)
            .map_err(|err| NotifyError::Message(err.to_string()))?;
        let id = &entry.message_id;
        let mut files = Vec::new();
        if let Some(eml) = eml {
            files.push((format!("{id}.eml"), eml.to_vec()));
        }
        files.push((format!("{id}.json"), json));
        write_durably(self.dir.clone(), files).await.map_err(|err| {
            NotifyError::Outbox(format!(
                "writing message {id} to {} failed: {err}",
                self.dir.display()
            ))
        })
    }

    /// Every message in the outbox, oldest first.
    pub fn entries(&self) -> anyhow::Result<Vec<OutboxEntry>> {
        let mut entries = Vec::new();
        for item in std::fs::read_dir(&self.dir)? {
            let path = item?.path();
            if path.extension().is_some_and(|e| e == "json") {
                entries.push(serde_json::from_slice(&std::fs::read(&path)?)?);
            }
        }
        // By time written (ids of messages published once are digests, not times).
        let written = |entry: &OutboxEntry| {
            time::OffsetDateTime::parse(
                &entry.created_at,
                &time::format_description::well_known::Rfc3339,
            )
            .ok()
        };
        entries.sort_by(|a: &OutboxEntry, b| {
            (written(a), &a.message_id).cmp(&(written(b), &b.message_id))
        });
        Ok(entries)
    }
}

/// Writes `files` (name, bytes) in `dir` so that a power loss leaves each whole or
/// absent: each is written to a temporary name and fsynced, then all are renamed in
/// order, then the directory is fsynced once.
async fn write_durably(dir: PathBuf, files: Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
    tokio::task::spawn_blocking(move || {
        let mut renames = Vec::with_capacity(files.len());
        for (name, bytes) in files {
            let tmp = dir.join(format!(".{name}.tmp"));
            let mut file = std::fs::File::create(&tmp)?;
            std::io::Write::write_all(&mut file, &bytes)?;
            file.sync_all()?;
            renames.push((tmp, dir.join(name)));
        }
        for (tmp, path) in renames {
            std::fs::rename(tmp, path)?;
        }
        std::fs::File::open(&dir)?.sync_all()
    })
    .await
    .map_err(|err| std::io::Error::other(err.to_string()))?
}

#[async_trait]
impl Notifier for Outbox {
    async fn publish(
        &self,
        recipient: Option<&str>,
        subject: &str,
        body: &str,
    ) -> Result<String, NotifyError> {
        let (entry, _) = self.write(recipient, subject, body).await?;
        tracing::info!(message_id = %entry.message_id, dir = %self.dir.display(), "message written to the outbox");
        Ok(entry.message_id)
    }

    async fn publish_once(
        &self,
        recipient: Option<&str>,
        subject: &str,
        body: &str,
        key: &str,
    ) -> Result<String, NotifyError> {
        match self.reserve(key).await? {
            (id, Some(_)) => {
                tracing::info!(message_id = %id, "message already in the outbox; not written again");
                Ok(id)
            }
            (id, None) => {
                let (entry, _) = self.write_as(id, recipient, subject, body).await?;
                tracing::info!(message_id = %entry.message_id, dir = %self.dir.display(), "message written to the outbox");
                Ok(entry.message_id)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_eml_and_json() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(dir.path().to_path_buf(), &NotifyConfig::default()).unwrap();
        let id = outbox
            .publish(None, "Report ready", "Open https://x/y?z=1\n")
            .await
            .unwrap();
        let eml = std::fs::read_to_string(dir.path().join(format!("{id}.eml"))).unwrap();
        assert!(eml.contains("Subject: Report ready"), "{eml}");
        assert!(
            eml.contains(&format!("Message-ID: <{id}@cafe-report>")),
            "{eml}"
        );
        assert!(eml.contains("https://x/y?z=1"), "{eml}");
        let entries = outbox.entries().unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].message_id, id);
        assert!(!entries[0].delivered);
        assert_eq!(entries[0].to, NotifyConfig::default().to);
        assert!(
            eml.contains("To: \"Inventory Team\" <inventory@cafe-report.local>"),
            "{eml}"
        );
    }

    #[tokio::test]
    async fn a_recipient_alone_receives_the_message() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(dir.path().to_path_buf(), &NotifyConfig::default()).unwrap();
        let id = outbox
            .publish(Some("ana@example.com"), "Report ready", "link\n")
            .await
            .unwrap();
        let eml = std::fs::read_to_string(dir.path().join(format!("{id}.eml"))).unwrap();
        assert!(eml.contains("To: ana@example.com\r\n"), "{eml}");
        assert!(!eml.contains("inventory@"), "{eml}");
        assert_eq!(outbox.entries().unwrap()[0].to, ["ana@example.com"]);

        let err = outbox
            .publish(Some("not an address"), "Report ready", "link\n")
            .await
            .unwrap_err();
        assert_eq!(
            err,
            NotifyError::Message(
                "the recipient \"not an address\" is not an email address: Invalid input".into()
            )
        );
    }

    #[tokio::test]
    async fn a_keyed_message_is_written_once_whatever_happened_before() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(dir.path().to_path_buf(), &NotifyConfig::default()).unwrap();
        let once = |key: &'static str| {
            let outbox = outbox.clone();
            async move {
                outbox
                    .publish_once(Some("ana@example.com"), "Report", "link", key)
                    .await
                    .unwrap()
            }
        };
        let first = once("exec/Presign/7").await;
        assert_eq!(once("exec/Presign/7").await, first);
        assert_eq!(outbox.entries().unwrap().len(), 1);
        // Another attempt is another message.
        let retry = once("exec/Presign/12").await;
        assert_ne!(retry, first);
        assert_eq!(outbox.entries().unwrap().len(), 2);
        // A message of that key cut short (no `.json`) is written again, under the
        // key's id.
        let (reserved, written) = outbox.reserve("exec/Presign/20").await.unwrap();
        assert!(written.is_none());
        assert_eq!(once("exec/Presign/20").await, reserved);
        assert_eq!(outbox.entries().unwrap().len(), 3);
    }
}
