//! Attract content: images from a configured folder (`help.attract_dir`) shown in turn on the
//! attract screen. Pure but for the folder listing: the caller passes a loader and the time,
//! so an unreadable file (not an image, truncated, gone) is skipped and the next one tried.

use std::path::{Path, PathBuf};

/// File extensions offered to the loader (case-insensitive).
pub const EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// The rotation over a folder's images.
#[derive(Debug, Clone, Default)]
pub struct AttractRotation {
    files: Vec<PathBuf>,
    next: usize,
    shown_at: Option<u64>,
    period_ms: u64,
}

impl AttractRotation {
    /// The images of `dir` (sorted by name; other files and sub-folders ignored). A missing or
    /// unreadable folder gives an empty rotation (the attract screen shows its card art) and a
    /// log line.
    #[must_use]
    pub fn from_dir(dir: &Path, period_ms: u64) -> Self {
        let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.is_file()
                        && p.extension()
                            .and_then(|e| e.to_str())
                            .is_some_and(|e| EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
                })
                .collect(),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "attract folder unreadable");
                Vec::new()
            }
        };
        files.sort();
        Self::new(files, period_ms)
    }

    /// A rotation over `files` in this order.
    #[must_use]
    pub fn new(files: Vec<PathBuf>, period_ms: u64) -> Self {
        Self {
            files,
            next: 0,
            shown_at: None,
            period_ms,
        }
    }

    /// How many files the rotation offers (readable or not).
    #[must_use]
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether the folder held no image file.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// At time `now_ms`: `None` while the current image stays, else the next image `load`
    /// accepts, trying each file at most once (`Some(None)` when none loads: show the art).
    pub fn tick<T>(
        &mut self,
        now_ms: u64,
        mut load: impl FnMut(&Path) -> Option<T>,
    ) -> Option<Option<T>> {
        if self.files.is_empty() {
            return None;
        }
        if self
            .shown_at
            .is_some_and(|t| now_ms.saturating_sub(t) < self.period_ms)
        {
            return None;
        }
        self.shown_at = Some(now_ms);
        for _ in 0..self.files.len() {
            let i = self.next % self.files.len();
            self.next = (i + 1) % self.files.len();
            if let Some(img) = load(&self.files[i]) {
                return Some(Some(img));
            }
            tracing::warn!(file = %self.files[i].display(), "attract image unreadable: skipped");
        }
        Some(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_in_name_order_and_skips_unreadable_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, body) in [
            ("b.png", "good-b"),
            ("a.PNG", "good-a"),
            ("c.jpg", "bad"),
            ("notes.txt", "good-but-not-an-image"),
        ] {
            std::fs::write(dir.path().join(name), body).expect("write");
        }
        std::fs::create_dir(dir.path().join("d.png")).expect("a folder named like an image");
        let mut r = AttractRotation::from_dir(dir.path(), 5000);
        assert_eq!(r.len(), 3);
        let load = |p: &Path| {
            let s = std::fs::read_to_string(p).ok()?;
            s.starts_with("good").then_some(s)
        };
        assert_eq!(r.tick(0, load), Some(Some("good-a".to_owned())));
        assert_eq!(r.tick(4999, load), None, "stays for its period");
        assert_eq!(r.tick(5000, load), Some(Some("good-b".to_owned())));
        // c.jpg does not load: skipped, back to a.
        assert_eq!(r.tick(10_000, load), Some(Some("good-a".to_owned())));
        assert_eq!(r.tick(15_000, |_| None::<String>), Some(None));
    }

    #[test]
    fn a_missing_folder_is_empty() {
        let mut r = AttractRotation::from_dir(Path::new("/nonexistent/attract"), 5000);
        assert!(r.is_empty());
        assert_eq!(r.tick(0, |_| Some(1)), None);
    }
}
