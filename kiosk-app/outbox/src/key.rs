//! The queue key: 32 random bytes that SQLCipher derives the database key from.
//!
//! Provisioning writes it once (`kioskctl` for now, a TPM-sealed blob later); the kiosk reads it
//! at start-up through a [`KeySource`]. [`KeyFile`] is today's source: a file of 64 hex digits
//! that only its owner may read. The TPM seam is the trait: a sealed-key source implements
//! [`KeySource`] and nothing else changes.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use zeroize::{Zeroize, Zeroizing};

/// Length of a queue key in bytes.
pub const KEY_LEN: usize = 32;

/// A queue key. Zeroized on drop; its `Debug` never prints the bytes.
#[derive(Clone, Zeroize)]
#[zeroize(drop)]
pub struct QueueKey([u8; KEY_LEN]);

impl std::fmt::Debug for QueueKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("QueueKey(<redacted>)")
    }
}

impl QueueKey {
    /// A key from raw bytes (tests, a TPM unseal).
    #[must_use]
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// A fresh random key from the OS generator.
    #[must_use]
    pub fn generate() -> Self {
        let mut b = [0u8; KEY_LEN];
        rand::fill(&mut b);
        Self(b)
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// SQLCipher's raw-key literal `x'<64 hex>'`: the key is used as is (no PBKDF2 run at
    /// every start, which costs ~1 s on a kiosk CPU and adds nothing for a random key).
    pub(crate) fn sqlcipher_literal(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::with_capacity(3 + 2 * KEY_LEN));
        s.push_str("x'");
        push_hex(&mut s, &self.0);
        s.push('\'');
        s
    }
}

fn push_hex(s: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 15)]));
    }
}

/// Why a key could not be had. Messages say what to do next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key file is missing or unreadable.
    #[error("queue key {path}: {source}; provision it with `kioskctl queue init-key {path}`")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Group or others may read or write the file.
    #[error(
        "queue key {path} has mode {mode:o}: group and others must have no access; \
         fix with `chmod 600 {path}` (and check who may have copied it)"
    )]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Not 64 hex digits.
    #[error("queue key {path} is malformed: expected 64 hexadecimal digits and a newline")]
    Malformed {
        /// The file.
        path: PathBuf,
    },
    /// The file exists already (refusing to overwrite a key: that would lose the queue).
    #[error(
        "queue key {path} exists already; overwriting it would make the queue unreadable. \
         Remove it by hand only together with the queue database"
    )]
    Exists {
        /// The file.
        path: PathBuf,
    },
}

/// Where the queue key comes from: a file today, a TPM tomorrow.
pub trait KeySource {
    /// Loads the key.
    ///
    /// # Errors
    ///
    /// A [`KeyError`] saying what to fix.
    fn load(&self) -> Result<QueueKey, KeyError>;
}

/// A key in a file of 64 hex digits, mode 0600 (or 0400), owned by the kiosk's user.
#[derive(Debug, Clone)]
pub struct KeyFile {
    path: PathBuf,
}

impl KeyFile {
    /// The key file at `path`.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes a fresh random key with mode 0600; refuses to overwrite an existing file.
    ///
    /// # Errors
    ///
    /// [`KeyError::Exists`] if the file exists, [`KeyError::Io`] if it cannot be written.
    pub fn create(&self) -> Result<QueueKey, KeyError> {
        let key = QueueKey::generate();
        let io = |source| KeyError::Io {
            path: self.path.clone(),
            source,
        };
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    KeyError::Exists {
                        path: self.path.clone(),
                    }
                } else {
                    io(e)
                }
            })?;
        let mut text = Zeroizing::new(String::new());
        push_hex(&mut text, key.bytes());
        text.push('\n');
        f.write_all(text.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        Ok(key)
    }
}

impl KeySource for KeyFile {
    fn load(&self) -> Result<QueueKey, KeyError> {
        let io = |source| KeyError::Io {
            path: self.path.clone(),
            source,
        };
        let meta = fs::metadata(&self.path).map_err(io)?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::Permissions {
                path: self.path.clone(),
                mode,
            });
        }
        let text = Zeroizing::new(fs::read_to_string(&self.path).map_err(io)?);
        let hex = text.trim_end_matches(['\n', '\r']);
        let malformed = || KeyError::Malformed {
            path: self.path.clone(),
        };
        if hex.len() != 2 * KEY_LEN {
            return Err(malformed());
        }
        let mut key = [0u8; KEY_LEN];
        for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
            let digit = |c: u8| char::from(c).to_digit(16);
            match (digit(pair[0]), digit(pair[1])) {
                // Both digits are < 16, so the byte fits.
                (Some(h), Some(l)) => key[i] = u8::try_from(h * 16 + l).unwrap_or(0),
                _ => {
                    key.zeroize();
                    return Err(malformed());
                }
            }
        }
        let k = QueueKey(key);
        key.zeroize();
        Ok(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_load_and_refuse_loose_permissions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let kf = KeyFile::new(dir.path().join("queue.key"));
        let k = kf.create().expect("create");
        assert_eq!(kf.load().expect("load").bytes(), k.bytes());
        assert!(matches!(kf.create(), Err(KeyError::Exists { .. })));
        assert_eq!(format!("{k:?}"), "QueueKey(<redacted>)");

        fs::set_permissions(kf.path(), fs::Permissions::from_mode(0o644)).expect("chmod");
        let e = kf.load().expect_err("world-readable");
        assert!(
            matches!(e, KeyError::Permissions { mode: 0o644, .. }),
            "{e}"
        );
        assert!(e.to_string().contains("chmod 600"), "{e}");

        fs::set_permissions(kf.path(), fs::Permissions::from_mode(0o600)).expect("chmod");
        fs::write(kf.path(), "zz\n").expect("write");
        assert!(matches!(kf.load(), Err(KeyError::Malformed { .. })));
        let missing = KeyFile::new(dir.path().join("nope"));
        assert!(missing
            .load()
            .expect_err("missing")
            .to_string()
            .contains("init-key"));
    }
}
