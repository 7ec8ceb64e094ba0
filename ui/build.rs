//! Compiles the .slint views. Noto Sans is embedded from Debian's `fonts-noto-core`
//! (installed by `cargo xtask setup`); the folder can be overridden with `KIOSK_NOTO_DIR`.
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=KIOSK_NOTO_DIR");
    let noto = std::env::var_os("KIOSK_NOTO_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/fonts/truetype/noto"));
    for f in ["NotoSans-Regular.ttf", "NotoSans-Bold.ttf"] {
        if !noto.join(f).is_file() {
            panic!(
                "font {} not found in {}: run `cargo xtask setup` (installs Debian's fonts-noto-core) \
                 or set KIOSK_NOTO_DIR to a folder holding Noto Sans",
                f,
                noto.display()
            );
        }
    }
    let mut library = std::collections::HashMap::new();
    library.insert("noto".to_string(), noto);
    let config = slint_build::CompilerConfiguration::new()
        .with_library_paths(library)
        .with_style("fluent".into())
        // Element queries in UI tests (by accessible label) need debug info.
        .with_debug_info(true);
    slint_build::compile_with_config("ui/app-window.slint", config).expect("slint build failed");
}
