//! Embeds the Vietnamese reference messages (`locales/vi/*.ftl`) so that `kioskctl locales
//! check` can list the keys a pack lacks. `kiosk_app::i18n` embeds the same files but offers no
//! way to enumerate a language's keys; when it does, this script can go.
use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let vi = manifest.join("..").join("locales").join("vi");
    // A directory path makes cargo rescan it, so a new .ftl file is picked up.
    println!("cargo:rerun-if-changed={}", vi.display());

    let mut files: Vec<PathBuf> = std::fs::read_dir(&vi)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "ftl"))
                .map(|p| p.canonicalize().unwrap_or(p))
                .collect()
        })
        .unwrap_or_default();
    files.sort();

    let mut out = String::from(
        "/// (file name, contents) of every `locales/vi/*.ftl` file at build time.\n\
         static REFERENCE_VI: &[(&str, &str)] = &[\n",
    );
    for path in &files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("write to String");
    }
    out.push_str("];\n");
    let dest =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it")).join("reference.rs");
    std::fs::write(dest, out).expect("write reference.rs");
}
