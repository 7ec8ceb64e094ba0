//! The dependency policy of `deps-policy.toml`, checked against `Cargo.lock`: crates that must
//! have a single version, and crates that must not be in the build at all. The equivalent of
//! `cargo deny check bans` for these rules, without building cargo-deny in CI (minutes on two
//! cores). Advisories are not checked here: the RustSec database is a Git repository, and no
//! registry this project can reach (crates.io, PyPI, Debian, npm) publishes it.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use serde::Deserialize;

/// `deps-policy.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Crates allowed in one version only.
    pub single_version: Vec<String>,
    /// Crates not allowed at all.
    pub banned: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<Package>,
}

#[derive(Debug, Deserialize)]
struct Package {
    name: String,
    version: String,
}

/// Every breach of `policy` in the lock file `lock` (its text), one sentence each.
///
/// # Errors
/// A lock file that does not parse.
pub fn breaches(policy: &Policy, lock: &str) -> Result<Vec<String>> {
    let lock: Lock = toml::from_str(lock).context("Cargo.lock does not parse")?;
    let mut versions: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for p in &lock.package {
        versions.entry(&p.name).or_default().insert(&p.version);
    }
    let mut out = Vec::new();
    for name in &policy.single_version {
        if let Some(v) = versions.get(name.as_str()).filter(|v| v.len() > 1) {
            let list: Vec<&str> = v.iter().copied().collect();
            out.push(format!(
                "{name} is in the build in {} versions ({}): move every user to one \
                 (`cargo tree -i {name}@VERSION` shows who pulls each)",
                list.len(),
                list.join(", ")
            ));
        }
    }
    for name in &policy.banned {
        if versions.contains_key(name.as_str()) {
            out.push(format!(
                "{name} is banned by deps-policy.toml but is in the build \
                 (`cargo tree -i {name}` shows who pulls it)"
            ));
        }
    }
    Ok(out)
}

/// Loads the policy file at `path`.
///
/// # Errors
/// A missing or malformed file.
pub fn load(path: &std::path::Path) -> Result<Policy> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("{} does not parse", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            single_version: vec!["digest".into()],
            banned: vec!["openssl-sys".into()],
        }
    }

    const ONE: &str = "version = 4\n[[package]]\nname = \"digest\"\nversion = \"0.11.3\"\n";

    #[test]
    fn one_version_and_nothing_banned_pass() {
        assert!(breaches(&policy(), ONE).expect("parses").is_empty());
    }

    #[test]
    fn two_generations_and_a_banned_crate_are_named() {
        let lock = format!(
            "{ONE}[[package]]\nname = \"digest\"\nversion = \"0.10.7\"\n\
             [[package]]\nname = \"openssl-sys\"\nversion = \"0.9.0\"\n"
        );
        let b = breaches(&policy(), &lock).expect("parses");
        assert_eq!(b.len(), 2, "{b:?}");
        assert!(
            b[0].contains("digest") && b[0].contains("0.10.7, 0.11.3"),
            "{b:?}"
        );
        assert!(b[1].contains("openssl-sys"), "{b:?}");
    }

    #[test]
    fn the_workspace_lock_file_meets_the_policy() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let p = load(&root.join("deps-policy.toml")).expect("policy");
        let lock = std::fs::read_to_string(root.join("Cargo.lock")).expect("Cargo.lock");
        let b = breaches(&p, &lock).expect("parses");
        assert!(b.is_empty(), "{}", b.join("\n"));
    }
}
