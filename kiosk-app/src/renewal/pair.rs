//! The kiosk's private key and client certificate as one pair on disk, replaced in one
//! atomic step, so that a crash or power cut never leaves a key with another key's
//! certificate (which could not connect, and renewal needs that very connection).
//!
//! Layout, in the folder of the configured key file (`gateway.client_key`):
//!
//! ```text
//! client.key -> /var/lib/kiosk/tls/client-identity/current/key.pem    (the configured paths
//! client.pem -> /var/lib/kiosk/tls/client-identity/current/cert.pem    are symlinks)
//! client-identity/current -> 7                                         (the live pair)
//! client-identity/7/key.pem (0600), client-identity/7/cert.pem
//! ```
//!
//! [`install`] takes these steps ([`Step`]); after each, every configured path resolves to
//! one complete pair, the old or the new:
//!
//! 1. [`Step::Converted`], only when the configured paths are not yet these symlinks (the
//!    first renewal after `kioskctl enrol`, which writes plain files): what they hold now is
//!    copied into a pair folder, `current` made to name it, then each configured path is
//!    replaced by its symlink with a rename. The content read through each path never
//!    changes in this step.
//! 2. [`Step::Written`]: the new key and certificate are written into `.N.tmp`, each file
//!    and the folder fsync'd, the folder renamed to `N` and its parent fsync'd.
//! 3. [`Step::Swapped`]: a symlink `current.tmp -> N` is renamed over `current` (the one
//!    atomic swap) and the folder fsync'd.
//! 4. [`Step::Checked`]: the caller's check (the transport reloads through the configured
//!    paths). If the new pair does not load, `current` goes back to the old pair, which was
//!    kept for this.
//! 5. [`Step::Cleaned`]: the old pair is removed.
//!
//! Leftovers of a crash (`.N.tmp`, `current.tmp`, pairs `current` does not name) are removed
//! by the next installation.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{symlink, DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

/// The folder, next to the configured key file, that holds the pairs.
pub const PAIRS_DIR: &str = "client-identity";
const CURRENT: &str = "current";
const KEY: &str = "key.pem";
const CERT: &str = "cert.pem";

/// The steps of [`install`], in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Plain files at the configured paths became symlinks to a pair with their content.
    Converted,
    /// The new pair is on disk, synced, under its final name.
    Written,
    /// `current` names the new pair.
    Swapped,
    /// The new pair loaded.
    Checked,
    /// The old pair is gone.
    Cleaned,
}

/// Installs `key_pem` and `cert_pem` as the pair read through `key_path` and `cert_path`,
/// then runs `check` (which must load them through those paths); if it fails, the old pair
/// is put back and the error returned.
///
/// # Errors
///
/// A message naming the file or folder that could not be written, or `check`'s error.
pub fn install(
    key_path: &Path,
    cert_path: &Path,
    key_pem: &str,
    cert_pem: &str,
    check: impl FnOnce() -> Result<(), String>,
) -> Result<(), String> {
    install_steps(key_path, cert_path, key_pem, cert_pem, check, &mut |_| true)
}

/// [`install`], calling `go_on` after each step; `false` stops there as a crash would (tests).
fn install_steps(
    key_path: &Path,
    cert_path: &Path,
    key_pem: &str,
    cert_pem: &str,
    check: impl FnOnce() -> Result<(), String>,
    go_on: &mut dyn FnMut(Step) -> bool,
) -> Result<(), String> {
    let mut step = |s: Step| {
        if go_on(s) {
            Ok(())
        } else {
            Err(format!("stopped after {s:?}"))
        }
    };
    let base = pairs_dir(key_path)?;
    clean(&base).map_err(|e| io_err(&base, &e))?;
    let linked = [(key_path, KEY), (cert_path, CERT)]
        .iter()
        .all(|(p, f)| fs::read_link(p).is_ok_and(|t| t == base.join(CURRENT).join(f)));
    if !linked {
        let read = |p: &Path| fs::read_to_string(p).map_err(|e| io_err(p, &e));
        let (key, cert) = (read(key_path)?, read(cert_path)?);
        let n = next_pair(&base)?;
        write_pair(&base, n, &key, &cert)?;
        swap(&base, n)?;
        for (p, f) in [(key_path, KEY), (cert_path, CERT)] {
            relink(p, &base.join(CURRENT).join(f))?;
        }
        step(Step::Converted)?;
    }
    let old = current(&base)?;
    let n = next_pair(&base)?;
    write_pair(&base, n, key_pem, cert_pem)?;
    step(Step::Written)?;
    swap(&base, n)?;
    step(Step::Swapped)?;
    if let Err(e) = check() {
        // The new pair does not load: the old one (kept for this) is live again.
        if let Some(old) = old {
            swap(&base, old)?;
        }
        let _ = fs::remove_dir_all(base.join(n.to_string()));
        return Err(e);
    }
    step(Step::Checked)?;
    if let Some(old) = old {
        fs::remove_dir_all(base.join(old.to_string()))
            .map_err(|e| io_err(&base.join(old.to_string()), &e))?;
        sync_dir(&base)?;
    }
    step(Step::Cleaned)
}

fn io_err(path: &Path, e: &std::io::Error) -> String {
    format!("cannot write {}: {e}", path.display())
}

/// `<folder of key_path>/client-identity`, absolute (the symlinks name it), created 0700.
fn pairs_dir(key_path: &Path) -> Result<PathBuf, String> {
    let dir = match key_path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let dir = fs::canonicalize(dir).map_err(|e| io_err(dir, &e))?;
    let base = dir.join(PAIRS_DIR);
    match fs::DirBuilder::new().mode(0o700).create(&base) {
        Ok(()) => sync_dir(&dir)?,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_err(&base, &e)),
    }
    Ok(base)
}

/// The pair `current` names, if any.
fn current(base: &Path) -> Result<Option<u64>, String> {
    match fs::read_link(base.join(CURRENT)) {
        Ok(t) => Ok(t.to_str().and_then(|s| s.parse().ok())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(&base.join(CURRENT), &e)),
    }
}

/// Removes what a crash left: temporary folders and links, pairs `current` does not name.
fn clean(base: &Path) -> std::io::Result<()> {
    let live = current(base).ok().flatten().map(|n| n.to_string());
    for entry in fs::read_dir(base)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == CURRENT || live.as_deref() == Some(&*name) {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            fs::remove_dir_all(&path)?;
        } else {
            fs::remove_file(&path)?;
        }
    }
    Ok(())
}

fn next_pair(base: &Path) -> Result<u64, String> {
    let mut max = 0u64;
    for entry in fs::read_dir(base).map_err(|e| io_err(base, &e))? {
        let entry = entry.map_err(|e| io_err(base, &e))?;
        if let Some(n) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u64>().ok())
        {
            max = max.max(n);
        }
    }
    max.checked_add(1)
        .ok_or_else(|| format!("{}: no pair number left", base.display()))
}

fn write_pair(base: &Path, n: u64, key_pem: &str, cert_pem: &str) -> Result<(), String> {
    let tmp = base.join(format!(".{n}.tmp"));
    let write = || -> std::io::Result<()> {
        fs::DirBuilder::new().mode(0o700).create(&tmp)?;
        for (name, text, mode) in [(KEY, key_pem, 0o600), (CERT, cert_pem, 0o644)] {
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(tmp.join(name))?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
        }
        fs::File::open(&tmp)?.sync_all()?;
        fs::rename(&tmp, base.join(n.to_string()))?;
        fs::File::open(base)?.sync_all()
    };
    write().map_err(|e| io_err(&tmp, &e))
}

/// `current` names pair `n`: one rename, then the folder is synced.
fn swap(base: &Path, n: u64) -> Result<(), String> {
    let link = base.join("current.tmp");
    let _ = fs::remove_file(&link);
    symlink(n.to_string(), &link)
        .and_then(|()| fs::rename(&link, base.join(CURRENT)))
        .map_err(|e| io_err(&base.join(CURRENT), &e))?;
    sync_dir(base)
}

/// Replaces `path` by a symlink to `target` with one rename.
fn relink(path: &Path, target: &Path) -> Result<(), String> {
    let name = path
        .file_name()
        .ok_or_else(|| format!("{}: not a file name", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(".link-tmp");
    let tmp = path.with_file_name(tmp_name);
    let _ = fs::remove_file(&tmp);
    symlink(target, &tmp)
        .and_then(|()| fs::rename(&tmp, path))
        .map_err(|e| io_err(path, &e))?;
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => sync_dir(d),
        _ => sync_dir(Path::new(".")),
    }
}

fn sync_dir(dir: &Path) -> Result<(), String> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err(dir, &e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::enrol::{certifies, new_key_and_csr};
    use kiosk_gateway::ca::Authority;

    const NOW: i64 = 1_767_225_600_000;

    /// A key and the certificate for it.
    fn pair(ca: &mut Authority) -> (String, String) {
        let (key, csr) = new_key_and_csr("kiosk-hn-01").expect("csr");
        let r = ca.issue("kiosk-hn-01", &csr, NOW).expect("certificate");
        (key.to_string(), r.response.certificate)
    }

    /// The pair as the transport reads it: through the configured paths.
    fn loaded(key: &Path, cert: &Path) -> (String, String) {
        let k = fs::read_to_string(key).expect("key readable");
        let c = fs::read_to_string(cert).expect("certificate readable");
        assert!(
            certifies(&c, &k),
            "the key and certificate do not belong together"
        );
        (k, c)
    }

    const STEPS: [Step; 5] = [
        Step::Converted,
        Step::Written,
        Step::Swapped,
        Step::Checked,
        Step::Cleaned,
    ];

    /// A crash after any step, on the first renewal (plain files from `kioskctl enrol`) or a
    /// later one, leaves a pair that loads (the old or the new, never one of each), and the
    /// next renewal completes and clears what the crash left.
    #[test]
    fn a_crash_after_any_step_leaves_a_loadable_pair() {
        let mut ca = Authority::ephemeral("Deployment CA").expect("ca");
        let (a, b, c) = (pair(&mut ca), pair(&mut ca), pair(&mut ca));
        for first_renewal in [true, false] {
            for stop in STEPS {
                let dir = tempfile::tempdir().expect("tempdir");
                let key = dir.path().join("client.key");
                let cert = dir.path().join("client.pem");
                fs::write(&key, &a.0).expect("key");
                fs::write(&cert, &a.1).expect("cert");
                if !first_renewal {
                    install(&key, &cert, &a.0, &a.1, || Ok(())).expect("converted");
                }
                let r = install_steps(&key, &cert, &b.0, &b.1, || Ok(()), &mut |s| s != stop);
                let what = format!("first renewal {first_renewal}, stopped after {stop:?}");
                if first_renewal || stop != Step::Converted {
                    assert!(r.is_err(), "{what}");
                }
                let now = loaded(&key, &cert);
                let expect_new = matches!(stop, Step::Swapped | Step::Checked | Step::Cleaned)
                    || (stop == Step::Converted && !first_renewal);
                assert_eq!(
                    now,
                    if expect_new { b.clone() } else { a.clone() },
                    "{what}"
                );

                install(&key, &cert, &c.0, &c.1, || Ok(())).expect("next renewal");
                assert_eq!(loaded(&key, &cert), c, "{what}");
                let mut left: Vec<String> = fs::read_dir(dir.path().join(PAIRS_DIR))
                    .expect("pairs")
                    .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                    .collect();
                left.sort();
                assert_eq!(left.len(), 2, "{what}: {left:?}");
                assert_eq!(left[1], CURRENT, "{what}: {left:?}");
            }
        }
    }

    /// A new pair that does not load leaves the old one live; the new one is removed.
    #[test]
    fn the_old_pair_stays_until_the_new_one_loads() {
        let mut ca = Authority::ephemeral("Deployment CA").expect("ca");
        let (a, b) = (pair(&mut ca), pair(&mut ca));
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("client.key");
        let cert = dir.path().join("client.pem");
        fs::write(&key, &a.0).expect("key");
        fs::write(&cert, &a.1).expect("cert");
        let mut seen = None;
        let e = install(&key, &cert, &b.0, &b.1, || {
            // The check sees the new pair through the configured paths.
            seen = Some(loaded(&key, &cert));
            Err("does not load".to_owned())
        })
        .expect_err("refused");
        assert_eq!(e, "does not load");
        assert_eq!(seen, Some(b));
        assert_eq!(loaded(&key, &cert), a);
        let pairs = fs::read_dir(dir.path().join(PAIRS_DIR))
            .expect("pairs")
            .count();
        assert_eq!(pairs, 2, "the old pair and `current`");
    }

    /// The key file stays private: the pair folder is 0700, the key 0600.
    #[test]
    fn the_key_stays_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let mut ca = Authority::ephemeral("Deployment CA").expect("ca");
        let (a, b) = (pair(&mut ca), pair(&mut ca));
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("client.key");
        let cert = dir.path().join("client.pem");
        fs::write(&key, &a.0).expect("key");
        fs::write(&cert, &a.1).expect("cert");
        install(&key, &cert, &b.0, &b.1, || Ok(())).expect("installed");
        let mode = |p: &Path| fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&key), 0o600);
        assert_eq!(mode(&dir.path().join(PAIRS_DIR)), 0o700);
    }
}
