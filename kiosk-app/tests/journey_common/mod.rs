//! Runs the demo kiosk's tour (the real app on the headless platform) in a mode and lists the
//! screens it wrote. One tour per test process: the headless platform is process-wide.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;

/// Runs `kiosk --tour` in-process with the demo configuration in `mode`, writing into `dir`;
/// returns the screenshots' paths relative to `dir/tour`. Panics when the tour fails (its
/// assertions on visible texts and on wiped models are the test).
pub fn tour(mode: &str, dir: &Path) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join("config/demo.toml")).unwrap();
    let receipts = dir.join("receipts");
    let text: String = text
        .lines()
        .map(|l| {
            if l.starts_with("printer =") {
                format!("printer = \"virtual:{}\"\n", receipts.display())
            } else if l.starts_with("mode =") {
                format!("mode = \"{mode}\"\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let path = dir.join("kiosk.toml");
    std::fs::write(&path, &text).unwrap();
    let cfg = kiosk_app::config::from_toml(&path, &text).unwrap();
    let out = dir.join("tour");
    let code = kiosk_app::tour::run(cfg, &out).unwrap();
    assert_eq!(code, 0, "the tour failed");
    let mut shots = Vec::new();
    for o in ["portrait", "landscape"] {
        for l in ["vi", "en"] {
            for e in std::fs::read_dir(out.join(o).join(l)).unwrap() {
                let name = e.unwrap().file_name().to_string_lossy().into_owned();
                shots.push(format!("{o}/{l}/{name}"));
            }
        }
    }
    shots
}
