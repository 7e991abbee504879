//! The users of `[auth] mode = "local"`: names, addresses and hashed bearer tokens in
//! `<data_dir>/users.db` (SQLite), managed with `cafe-report users`.
//!
//! A token is 256 random bits, shown once. Only its SHA-256 is stored: a token is not a
//! password people choose, so a slow hash adds nothing, and a lookup by hash compares no
//! secret byte by byte.
//!
//! A user may also hold an access key, the SigV4 credentials the Step Functions API checks
//! (`cafe-report users access-key`). SigV4 needs the secret itself to check a signature,
//! so it cannot be stored hashed; it is not stored at all: it is derived from the key's
//! id and the data directory's own key (`access-key-master`, readable by its owner
//! alone), so `users.db` holds ids only and a new id retires the old secret.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::Context;
use cafe_report_capabilities::objects::KeyPair;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::Identity;

/// What every token starts with, so a leaked one is recognisable (secret scanners).
const TOKEN_PREFIX: &str = "crt_";

/// What every access key id starts with (AWS's start with `AKIA`).
const ACCESS_KEY_PREFIX: &str = "AKCR";

/// The key secret access keys are derived from, in the data directory.
const ACCESS_KEY_MASTER_FILE: &str = "access-key-master";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    name       TEXT PRIMARY KEY,
    email      TEXT NOT NULL,
    admin      INTEGER NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
";

/// Added after the first release: a database made before it gains the column at open.
const ACCESS_KEY_COLUMN: &str = "
ALTER TABLE users ADD COLUMN access_key_id TEXT;
";

const ACCESS_KEY_INDEX: &str = "
CREATE UNIQUE INDEX IF NOT EXISTS users_by_access_key ON users (access_key_id);
";

/// One user as `users list` shows it (never the token).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    /// The login name, which executions record as their owner.
    pub name: String,
    /// Where the user's report links go.
    pub email: String,
    /// Sees every user's executions.
    pub admin: bool,
    /// When the user was added (RFC 3339).
    pub created_at: String,
    /// Their access key's id, if they have one (the id is no secret; AWS lists it too).
    pub access_key_id: Option<String>,
}

/// Why a user change was refused.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// `users add` with a name that exists.
    #[error("a user named {0:?} already exists")]
    Exists(String),
    /// `users remove` or `users token` with a name that does not.
    #[error("no user named {0:?}")]
    Unknown(String),
    /// A name or address that cannot be used.
    #[error("{0}")]
    Invalid(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// The users of one data directory.
#[derive(Clone)]
pub struct UserStore {
    connection: Arc<Mutex<Connection>>,
    /// `<data_dir>/access-key-master`, read (or made) at the first access key use.
    master_path: PathBuf,
    master: Arc<OnceLock<[u8; 32]>>,
}

impl std::fmt::Debug for UserStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the master key.
        f.debug_struct("UserStore")
            .field("master_path", &self.master_path)
            .finish_non_exhaustive()
    }
}

impl UserStore {
    /// Opens (creating if needed) `<data_dir>/users.db`, readable by its owner only.
    pub fn open(data_dir: &Path) -> anyhow::Result<UserStore> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let path = data_dir.join("users.db");
        let connection = Connection::open(&path)
            .with_context(|| format!("opening the users {}", path.display()))?;
        restrict_to_owner(&path)?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        connection
            .execute_batch(SCHEMA)
            .with_context(|| format!("preparing the users {}", path.display()))?;
        if connection
            .prepare("SELECT access_key_id FROM users LIMIT 0")
            .is_err()
        {
            connection
                .execute_batch(ACCESS_KEY_COLUMN)
                .with_context(|| format!("adding access keys to {}", path.display()))?;
        }
        connection.execute_batch(ACCESS_KEY_INDEX)?;
        Ok(UserStore {
            connection: Arc::new(Mutex::new(connection)),
            master_path: data_dir.join(ACCESS_KEY_MASTER_FILE),
            master: Arc::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.connection.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a user and returns their token (the only time it is shown).
    pub fn add(&self, name: &str, email: &str, admin: bool) -> Result<String, UserError> {
        check_name(name)?;
        email.parse::<lettre::Address>().map_err(|err| {
            UserError::Invalid(format!("{email:?} is not an email address: {err}"))
        })?;
        let token = new_token()?;
        let created_at = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .context("formatting the time")?;
        let inserted = self
            .lock()
            .execute(
                "INSERT INTO users (name, email, admin, token_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (name) DO NOTHING",
                params![name, email, admin, hash(&token), created_at],
            )
            .context("adding the user")?;
        if inserted == 0 {
            return Err(UserError::Exists(name.into()));
        }
        Ok(token)
    }

    /// Every user, by name.
    pub fn list(&self) -> anyhow::Result<Vec<User>> {
        let connection = self.lock();
        let mut query = connection.prepare(
            "SELECT name, email, admin, created_at, access_key_id FROM users ORDER BY name",
        )?;
        let users = query
            .query_map([], |row| {
                Ok(User {
                    name: row.get(0)?,
                    email: row.get(1)?,
                    admin: row.get(2)?,
                    created_at: row.get(3)?,
                    access_key_id: row.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(users)
    }

    /// Removes a user; their token stops working at once.
    pub fn remove(&self, name: &str) -> Result<(), UserError> {
        let removed = self
            .lock()
            .execute("DELETE FROM users WHERE name = ?1", [name])
            .context("removing the user")?;
        if removed == 0 {
            return Err(UserError::Unknown(name.into()));
        }
        Ok(())
    }

    /// Gives a user a new token; the old one stops working at once.
    pub fn rotate(&self, name: &str) -> Result<String, UserError> {
        let token = new_token()?;
        let changed = self
            .lock()
            .execute(
                "UPDATE users SET token_hash = ?2 WHERE name = ?1",
                params![name, hash(&token)],
            )
            .context("replacing the token")?;
        if changed == 0 {
            return Err(UserError::Unknown(name.into()));
        }
        Ok(token)
    }

    /// The user a token belongs to, if any.
    pub fn authenticate(&self, token: &str) -> anyhow::Result<Option<Identity>> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        self.identity(
            "SELECT name, email, admin FROM users WHERE token_hash = ?1",
            &hash(token),
        )
    }

    /// The user `query` (name, email, admin) finds by `key`, if any.
    fn identity(&self, query: &str, key: &str) -> anyhow::Result<Option<Identity>> {
        let identity = self
            .lock()
            .query_row(query, [key], |row| {
                Ok(Identity {
                    user: row.get(0)?,
                    email: Some(row.get(1)?),
                    admin: row.get(2)?,
                })
            })
            .optional()?;
        Ok(identity)
    }

    /// Gives a user a new access key and returns it (the only time its secret is shown);
    /// the old one stops working at once.
    pub fn issue_access_key(&self, name: &str) -> Result<KeyPair, UserError> {
        let mut id = [0u8; 8];
        getrandom::fill(&mut id).map_err(|err| anyhow::anyhow!("no randomness: {err}"))?;
        let access_key_id = format!("{ACCESS_KEY_PREFIX}{}", hex::encode_upper(id));
        let changed = self
            .lock()
            .execute(
                "UPDATE users SET access_key_id = ?2 WHERE name = ?1",
                params![name, access_key_id],
            )
            .context("recording the access key")?;
        if changed == 0 {
            return Err(UserError::Unknown(name.into()));
        }
        let secret_access_key = self.secret_of(&access_key_id)?;
        Ok(KeyPair {
            access_key_id,
            secret_access_key,
        })
    }

    /// How many users hold an access key.
    pub fn access_keys(&self) -> anyhow::Result<usize> {
        let count: i64 = self.lock().query_row(
            "SELECT count(*) FROM users WHERE access_key_id IS NOT NULL",
            [],
            |row| row.get(0),
        )?;
        Ok(usize::try_from(count).unwrap_or_default())
    }

    /// The user holding the access key `access_key_id`, with its secret; `None` when no
    /// user holds it.
    pub fn by_access_key(&self, access_key_id: &str) -> anyhow::Result<Option<(Identity, String)>> {
        if !access_key_id.starts_with(ACCESS_KEY_PREFIX) {
            return Ok(None);
        }
        let identity = self.identity(
            "SELECT name, email, admin FROM users WHERE access_key_id = ?1",
            access_key_id,
        )?;
        match identity {
            Some(identity) => Ok(Some((identity, self.secret_of(access_key_id)?))),
            None => Ok(None),
        }
    }

    /// The secret of an access key id: 40 hex digits of HMAC-SHA256(master key, id)
    /// (aws-sigv4's HMAC, the one that signs with it).
    fn secret_of(&self, access_key_id: &str) -> anyhow::Result<String> {
        let master = match self.master.get() {
            Some(master) => master,
            None => {
                let key = crate::keyfile::load_or_create(&self.master_path)?;
                self.master.get_or_init(|| key)
            }
        };
        let mac = aws_sigv4::sign::v4::calculate_signature(
            master,
            format!("secret access key {access_key_id}").as_bytes(),
        );
        Ok(mac[..40].to_string())
    }
}

/// Names are what executions record as their owner: short, printable, no spaces.
fn check_name(name: &str) -> Result<(), UserError> {
    let fine = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
    if fine {
        Ok(())
    } else {
        Err(UserError::Invalid(format!(
            "{name:?} is not a user name: 1 to 64 of A-Z a-z 0-9 . _ - @"
        )))
    }
}

fn new_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|err| anyhow::anyhow!("no randomness: {err}"))?;
    Ok(format!("{TOKEN_PREFIX}{}", hex::encode(bytes)))
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(unix)]
fn restrict_to_owner(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("making {} private", path.display()))
}

#[cfg(not(unix))]
fn restrict_to_owner(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_authenticate_until_rotated_or_removed() {
        let dir = tempfile::tempdir().unwrap();
        let users = UserStore::open(dir.path()).unwrap();
        let ana = users.add("ana", "ana@example.com", false).unwrap();
        assert!(ana.starts_with("crt_") && ana.len() == 4 + 64, "{ana}");
        let root = users.add("root", "root@example.com", true).unwrap();
        assert_ne!(ana, root);

        let who = users.authenticate(&ana).unwrap().unwrap();
        assert_eq!(
            who,
            Identity {
                user: "ana".into(),
                email: Some("ana@example.com".into()),
                admin: false
            }
        );
        assert!(users.authenticate(&root).unwrap().unwrap().admin);
        assert_eq!(users.authenticate("crt_00").unwrap(), None);
        assert_eq!(users.authenticate("").unwrap(), None);

        // Only hashes are stored.
        let raw = std::fs::read(dir.path().join("users.db")).unwrap();
        assert!(!raw.windows(ana.len()).any(|w| w == ana.as_bytes()));

        let new = users.rotate("ana").unwrap();
        assert_eq!(users.authenticate(&ana).unwrap(), None);
        assert_eq!(users.authenticate(&new).unwrap().unwrap().user, "ana");
        users.remove("ana").unwrap();
        assert_eq!(users.authenticate(&new).unwrap(), None);

        let names: Vec<String> = users.list().unwrap().into_iter().map(|u| u.name).collect();
        assert_eq!(names, ["root"]);
    }

    #[test]
    fn access_keys_are_derived_kept_and_retired() {
        let dir = tempfile::tempdir().unwrap();
        let users = UserStore::open(dir.path()).unwrap();
        users.add("ana", "ana@example.com", false).unwrap();
        users.add("bo", "bo@example.com", true).unwrap();
        assert_eq!(users.access_keys().unwrap(), 0);
        assert!(!dir.path().join(ACCESS_KEY_MASTER_FILE).exists());

        let key = users.issue_access_key("ana").unwrap();
        assert!(key.access_key_id.starts_with("AKCR") && key.access_key_id.len() == 20);
        assert_eq!(key.secret_access_key.len(), 40);
        assert!(!format!("{key:?}").contains(&key.secret_access_key));
        assert_eq!(users.access_keys().unwrap(), 1);

        // Another process (serve) derives the same secret from the id.
        let again = UserStore::open(dir.path()).unwrap();
        let (who, secret) = again.by_access_key(&key.access_key_id).unwrap().unwrap();
        assert_eq!(who.user, "ana");
        assert!(!who.admin);
        assert_eq!(secret, key.secret_access_key);
        // The database holds the id, never the secret.
        let raw = std::fs::read(dir.path().join("users.db")).unwrap();
        let secret = key.secret_access_key.as_bytes();
        assert!(!raw.windows(secret.len()).any(|w| w == secret));
        let listed = users.list().unwrap();
        assert_eq!(
            listed[0].access_key_id.as_deref(),
            Some(&*key.access_key_id)
        );
        assert_eq!(listed[1].access_key_id, None);

        // A new key retires the old one; another data directory derives other secrets.
        let new = users.issue_access_key("ana").unwrap();
        assert_ne!(new.secret_access_key, key.secret_access_key);
        assert_eq!(users.by_access_key(&key.access_key_id).unwrap(), None);
        let elsewhere = tempfile::tempdir().unwrap();
        let others = UserStore::open(elsewhere.path()).unwrap();
        assert_ne!(
            others.secret_of(&new.access_key_id).unwrap(),
            new.secret_access_key
        );

        assert_eq!(users.by_access_key("AKIAIOSFODNN7EXAMPLE").unwrap(), None);
        assert_eq!(
            users.issue_access_key("zoe").unwrap_err().to_string(),
            "no user named \"zoe\""
        );
        users.remove("ana").unwrap();
        assert_eq!(users.by_access_key(&new.access_key_id).unwrap(), None);
        assert_eq!(users.access_keys().unwrap(), 0);
    }

    #[test]
    fn a_database_from_before_access_keys_gains_them() {
        let dir = tempfile::tempdir().unwrap();
        let old = Connection::open(dir.path().join("users.db")).unwrap();
        old.execute_batch(SCHEMA).unwrap();
        old.execute(
            "INSERT INTO users VALUES ('ana', 'ana@example.com', 0, 'x', '2026-01-01T00:00:00Z')",
            [],
        )
        .unwrap();
        drop(old);
        let users = UserStore::open(dir.path()).unwrap();
        assert_eq!(users.list().unwrap()[0].access_key_id, None);
        users.issue_access_key("ana").unwrap();
        assert_eq!(users.access_keys().unwrap(), 1);
    }

    #[test]
    fn bad_names_addresses_and_duplicates_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let users = UserStore::open(dir.path()).unwrap();
        users.add("ana", "ana@example.com", false).unwrap();
        let said = |err: UserError| err.to_string();
        assert_eq!(
            said(users.add("ana", "x@example.com", false).unwrap_err()),
            "a user named \"ana\" already exists"
        );
        assert_eq!(
            said(users.add("a b", "x@example.com", false).unwrap_err()),
            "\"a b\" is not a user name: 1 to 64 of A-Z a-z 0-9 . _ - @"
        );
        assert!(
            said(users.add("bob", "bob", false).unwrap_err())
                .starts_with("\"bob\" is not an email address"),
        );
        assert_eq!(
            said(users.remove("zoe").unwrap_err()),
            "no user named \"zoe\""
        );
        assert_eq!(
            said(users.rotate("zoe").unwrap_err()),
            "no user named \"zoe\""
        );
    }
}
