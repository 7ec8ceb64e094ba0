//! The queue key: 32 random bytes that SQLCipher derives the database key from.
//!
//! Provisioning writes it once (`kioskctl` for now, a TPM-sealed blob later); the kiosk reads it
//! at start-up through a [`KeySource`]. [`KeyFile`] is today's source: a file of 64 hex digits
//! that only its owner may read. The TPM seam is the trait: a sealed-key source implements
//! [`KeySource`] and nothing else changes.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
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

/// Largest private file [`read_private_file`] reads: a key is a few hundred bytes.
pub const MAX_PRIVATE_FILE: u64 = 64 * 1024;

/// Why [`read_private_file`] refused a file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrivateFileError {
    /// It cannot be opened or read.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Group or others may read or write it.
    #[error(
        "mode {mode:o}: group and others must have no access; fix with `chmod 600` (and check \
         who may have copied it)"
    )]
    Permissions {
        /// Its permission bits.
        mode: u32,
    },
    /// Owned by another user than the kiosk's (or root).
    #[error(
        "owned by uid {uid}, not by this process's user (uid {euid}) or root: another user \
         could have written it; fix with `chown` to the kiosk's user after checking it"
    )]
    Owner {
        /// The file's owner.
        uid: u32,
        /// This process's effective user.
        euid: u32,
    },
    /// Longer than [`MAX_PRIVATE_FILE`].
    #[error("longer than {MAX_PRIVATE_FILE} bytes: not a key file")]
    TooLarge,
}

/// Reads a file that must be private to the kiosk's user (the queue key, the TLS key). It is
/// opened once; the checks run on the open file (fstat): the owner is this process's
/// effective user or root, group and others have no access; then it is read from that same
/// open file. (Checking the path, then opening it, left a gap in which the file could be
/// swapped.) Symlinks are followed (the TLS key is one, see kiosk-app's `renewal::pair`): what
/// is checked is the file read.
///
/// # Errors
///
/// [`PrivateFileError`] saying what to fix.
pub fn read_private_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, PrivateFileError> {
    let file = fs::File::open(path)?;
    let meta = file.metadata()?;
    check_private(meta.uid(), meta.mode(), rustix::process::geteuid().as_raw())?;
    if meta.len() > MAX_PRIVATE_FILE {
        return Err(PrivateFileError::TooLarge);
    }
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_PRIVATE_FILE + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_PRIVATE_FILE {
        return Err(PrivateFileError::TooLarge);
    }
    Ok(bytes)
}

/// The owner and mode rule of [`read_private_file`] (pure).
fn check_private(uid: u32, mode: u32, euid: u32) -> Result<(), PrivateFileError> {
    if uid != euid && uid != 0 {
        return Err(PrivateFileError::Owner { uid, euid });
    }
    let mode = mode & 0o777;
    if mode & 0o077 != 0 {
        return Err(PrivateFileError::Permissions { mode });
    }
    Ok(())
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
    /// Owned by another user than the kiosk's (or root).
    #[error("queue key {path}: {source}")]
    Unsafe {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: PrivateFileError,
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
        let bytes = read_private_file(&self.path).map_err(|e| match e {
            PrivateFileError::Io(e) => io(e),
            PrivateFileError::Permissions { mode } => KeyError::Permissions {
                path: self.path.clone(),
                mode,
            },
            e => KeyError::Unsafe {
                path: self.path.clone(),
                source: e,
            },
        })?;
        let malformed = || KeyError::Malformed {
            path: self.path.clone(),
        };
        let text = std::str::from_utf8(&bytes).map_err(|_| malformed())?;
        let hex = text.trim_end_matches(['\n', '\r']);
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
    use std::os::unix::fs::PermissionsExt as _;

    /// Owner as well as mode: a key another user owns is refused even at mode 0600 (it could
    /// have written it); the kiosk's own user and root may own it.
    #[test]
    fn private_files_need_the_right_owner_and_mode() {
        assert!(check_private(1000, 0o100_600, 1000).is_ok());
        assert!(check_private(0, 0o100_400, 1000).is_ok(), "root-owned");
        assert!(matches!(
            check_private(1001, 0o100_600, 1000),
            Err(PrivateFileError::Owner {
                uid: 1001,
                euid: 1000
            })
        ));
        assert!(matches!(
            check_private(1000, 0o100_640, 1000),
            Err(PrivateFileError::Permissions { mode: 0o640 })
        ));
        let e = check_private(1001, 0o100_600, 1000).expect_err("owner");
        assert!(e.to_string().contains("chown"), "{e}");

        // The real file, checked through the open handle.
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("k");
        fs::write(&p, "secret").expect("write");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).expect("chmod");
        assert_eq!(&read_private_file(&p).expect("read")[..], b"secret");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o604)).expect("chmod");
        assert!(matches!(
            read_private_file(&p),
            Err(PrivateFileError::Permissions { mode: 0o604 })
        ));
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).expect("chmod");
        fs::write(&p, vec![b'x'; 64 * 1024 + 1]).expect("write");
        assert!(matches!(
            read_private_file(&p),
            Err(PrivateFileError::TooLarge)
        ));
        // Owned by someone else: only root can arrange that here.
        if rustix::process::geteuid().is_root() {
            fs::write(&p, "secret").expect("write");
            std::os::unix::fs::chown(&p, Some(65534), None).expect("chown");
            assert!(matches!(
                read_private_file(&p),
                Err(PrivateFileError::Owner { uid: 65534, .. })
            ));
        }
    }

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
