//! The data directory's own 32-byte secrets (task tokens, access keys): made at first
//! use, random, readable by their owner alone, and kept, so what was derived from one
//! (a waiting task's token, a user's secret access key) survives a restart.

use std::path::Path;

use anyhow::Context;

/// The key in `path`, made now if there is none.
pub(crate) fn load_or_create(path: &Path) -> anyhow::Result<[u8; 32]> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret)
                .map_err(|err| anyhow::anyhow!("no randomness for {}: {err}", path.display()))?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            match cafe_report_capabilities::objects::write_private(path, &secret) {
                Ok(()) => secret.to_vec(),
                // Another process made it first: theirs is the key.
                Err(_) if path.exists() => {
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?
                }
                Err(err) => return Err(err),
            }
        }
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("{} is not a 32-byte key", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_random_private_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("key");
        let key = load_or_create(&path).unwrap();
        assert_ne!(key, [0u8; 32]);
        assert_eq!(load_or_create(&path).unwrap(), key);
        assert_ne!(load_or_create(&dir.path().join("other")).unwrap(), key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, b"short").unwrap();
        assert_eq!(
            load_or_create(&path).unwrap_err().to_string(),
            format!("{} is not a 32-byte key", path.display())
        );
    }
}
