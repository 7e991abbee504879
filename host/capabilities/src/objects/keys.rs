//! The embedded endpoint's keys: random per data directory, made at first start and kept
//! in `<data_dir>/embedded-s3-keys.json` (mode 0600). Two pairs, because they are trusted
//! for different things (see [`super::access`]): the host's own writes, and report links,
//! whose key id every mail recipient sees.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::signer::Credentials;

/// The file's name under the data directory.
pub const KEYS_FILE: &str = "embedded-s3-keys.json";

/// One access key pair.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPair {
    /// The public id.
    pub access_key_id: String,
    /// The secret; never printed.
    pub secret_access_key: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"****")
            .finish()
    }
}

impl KeyPair {
    fn random(prefix: &str) -> KeyPair {
        // uuid v4 draws from the operating system's random source: 122 bits each.
        let id = uuid::Uuid::new_v4()
            .simple()
            .to_string()
            .to_ascii_uppercase();
        KeyPair {
            access_key_id: format!("{prefix}{}", &id[..16]),
            secret_access_key: format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            ),
        }
    }

    /// These keys as credentials scoped to `region`.
    pub fn credentials(&self, region: &str) -> Credentials {
        Credentials {
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret_access_key.clone(),
            session_token: None,
            region: region.to_string(),
        }
    }
}

/// The embedded endpoint's two key pairs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbeddedKeys {
    /// The host's own S3 client: reports and component versions.
    pub writer: KeyPair,
    /// Report links; accepted only on presigned GETs of report objects.
    pub signing: KeyPair,
}

impl EmbeddedKeys {
    /// The keys of `data_dir`, made now if it has none. Safe against a second process
    /// starting at the same moment: the file appears whole or not at all, and the first
    /// one made wins.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<EmbeddedKeys> {
        let path = data_dir.join(KEYS_FILE);
        if let Some(keys) = read(&path)? {
            return Ok(keys);
        }
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let keys = EmbeddedKeys {
            writer: KeyPair::random("CAFEW"),
            signing: KeyPair::random("CAFES"),
        };
        let draft = data_dir.join(format!(".{KEYS_FILE}.{}", uuid::Uuid::new_v4().simple()));
        write_private(&draft, &serde_json::to_vec_pretty(&keys)?)?;
        // A hard link never replaces an existing file: whoever links first wins.
        let linked = std::fs::hard_link(&draft, &path);
        let _ = std::fs::remove_file(&draft);
        match linked {
            Ok(()) => Ok(keys),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => read(&path)?
                .with_context(|| format!("{} vanished while being read", path.display())),
            Err(err) => Err(err).with_context(|| format!("creating {}", path.display())),
        }
    }
}

fn read(path: &Path) -> anyhow::Result<Option<EmbeddedKeys>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .with_context(|| format!("{} is not a key file", path.display())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("reading {}", path.display())),
    }
}

/// Creates `path` readable and writable by its owner alone (fails if it exists).
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_private_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let keys = EmbeddedKeys::load_or_create(dir.path()).unwrap();
        assert_ne!(keys.writer, keys.signing);
        assert!(keys.writer.access_key_id.starts_with("CAFEW"));
        assert_eq!(keys.signing.secret_access_key.len(), 64);
        assert_eq!(EmbeddedKeys::load_or_create(dir.path()).unwrap(), keys);

        let other = tempfile::tempdir().unwrap();
        let theirs = EmbeddedKeys::load_or_create(other.path()).unwrap();
        assert_ne!(
            theirs.writer.secret_access_key,
            keys.writer.secret_access_key
        );

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEYS_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Only the key file is left: no draft.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [KEYS_FILE]);
        assert!(!format!("{keys:?}").contains(&keys.writer.secret_access_key));
    }
}
