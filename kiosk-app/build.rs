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
