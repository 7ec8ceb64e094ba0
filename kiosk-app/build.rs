//! Embeds every `locales/<code>/*.ftl` file, so a new locale folder needs no code change,
//! only a rebuild.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let locales = manifest.join("..").join("locales");
    // A directory path makes cargo rescan the whole tree for changes.
    println!("cargo:rerun-if-changed={}", locales.display());

    let mut files = Vec::new();
    collect(&locales, &mut files);
    files.sort();

    let mut out = String::from(
        "/// (locale code, file name, contents) of every embedded .ftl file.\n\
         pub(crate) static EMBEDDED_LOCALES: &[(&str, &str, &str)] = &[\n",
    );
    for (code, path) in &files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        writeln!(
            out,
            "    ({code:?}, {name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("write to String");
    }
    out.push_str("];\n");
    let dest =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it")).join("locales.rs");
    std::fs::write(&dest, out).expect("write locales.rs");
    build_epoch(&manifest);
}

/// `KIOSK_BUILD_EPOCH`: the Unix time of the source the kiosk is built from, the floor below
/// which the wall clock is known to be wrong (`clock.rs`). `SOURCE_DATE_EPOCH` when set (a
/// reproducible image build), else the commit time of `HEAD`, else a fixed date before the
/// first release that has this check. Not re-run on every commit: an incremental build keeps an
/// older floor, which only makes the check more lenient.
fn build_epoch(manifest: &Path) {
    const FALLBACK: i64 = 1_796_083_200; // 2026-12-01T00:00:00Z
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let from_env = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok());
    let from_git = || {
        std::process::Command::new("git")
            .args(["log", "-1", "--format=%ct"])
            .current_dir(manifest)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<i64>().ok())
    };
    let epoch = from_env
        .or_else(from_git)
        .filter(|e| *e >= FALLBACK)
        .unwrap_or(FALLBACK);
    println!("cargo:rustc-env=KIOSK_BUILD_EPOCH={epoch}");
}

fn collect(locales: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(dirs) = std::fs::read_dir(locales) else {
        return;
    };
    for dir in dirs.flatten() {
        let path = dir.path();
        if !path.is_dir() {
            continue;
        }
        let Some(code) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        let Ok(entries) = std::fs::read_dir(&path) else {
            continue;
        };
        for f in entries.flatten() {
            let f = f.path();
            if f.extension().is_some_and(|e| e == "ftl") {
                let f = f.canonicalize().unwrap_or(f);
                files.push((code.clone(), f));
            }
        }
    }
}
