//! User-facing text: Fluent catalogues, one folder per language under `locales/`.
//!
//! Every `locales/<code>/*.ftl` file is embedded at build time (see `build.rs`), so adding a
//! language is adding a folder and rebuilding. A deployed kiosk can also load a runtime folder
//! (config `ui.locales_dir`) with the same layout: its files extend the embedded languages and
//! override their messages, so a technician can drop in a minority-language pack
//! (e.g. `locales/hmn/kiosk.ftl`) without a new build.
//!
//! Lookups never fail: a key missing in a language falls back to Vietnamese, then to the key
//! itself, with a warning in the log. Text is normalised to NFC on load, so packs typed with
//! decomposed tone marks render the same.
//!
//! This module is pure Rust (no Slint): the UI controller hooks `Tr.t`/`Tr.ta`/`Tr.tl` to it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use fluent_bundle::{FluentArgs, FluentBundle, FluentResource};
use unic_langid::LanguageIdentifier;
use unicode_normalization::UnicodeNormalization;

include!(concat!(env!("OUT_DIR"), "/locales.rs"));

/// The language every lookup falls back to.
pub const FALLBACK_LANGUAGE: &str = "vi";
/// The message holding a language's own name, e.g. "Tiếng Việt".
pub const LANGUAGE_NAME_KEY: &str = "language-name";

/// Why a catalogue could not be loaded. Messages name the file (and line) to fix.
#[derive(Debug, thiserror::Error)]
pub enum I18nError {
    /// A locale folder or file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The folder or file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A .ftl file has a syntax error.
    #[error("{}:{line}: Fluent syntax error: {message} (fix the line, or remove the file)", file.display())]
    Syntax {
        /// The file.
        file: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// What the parser found.
        message: String,
    },
    /// The same message is defined twice in one language.
    #[error("{}:{line}: message `{id}` is already defined in locale `{locale}` (keep one definition)", file.display())]
    Duplicate {
        /// The file with the second definition.
        file: PathBuf,
        /// 1-based line of the second definition (0 if unknown).
        line: usize,
        /// The message id.
        id: String,
        /// The locale folder name.
        locale: String,
    },
    /// A locale folder name is not a language identifier.
    #[error("{}: `{code}` is not a language code (name the folder like `vi`, `en`, `hmn`)", path.display())]
    BadLocale {
        /// The folder.
        path: PathBuf,
        /// The folder name.
        code: String,
    },
}

struct Locale {
    bundle: FluentBundle<FluentResource>,
}

impl Locale {
    fn new(code: &str, dir: &Path) -> Result<Self, I18nError> {
        let id: LanguageIdentifier = code.parse().map_err(|_| I18nError::BadLocale {
            path: dir.to_path_buf(),
            code: code.to_owned(),
        })?;
        let mut bundle = FluentBundle::new(vec![id]);
        // No Unicode isolation marks on screen: the kiosk's languages are all left-to-right.
        bundle.set_use_isolating(false);
        Ok(Self { bundle })
    }
}

/// All loaded languages.
pub struct Catalog {
    locales: BTreeMap<String, Locale>,
}

impl fmt::Debug for Catalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Catalog")
            .field("languages", &self.locales.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Catalog {
    /// The languages embedded at build time from `locales/`.
    ///
    /// # Errors
    /// A syntax error or duplicate message in an embedded file (caught by the tests).
    pub fn embedded() -> Result<Self, I18nError> {
        let mut catalog = Self {
            locales: BTreeMap::new(),
        };
        for (code, name, text) in EMBEDDED_LOCALES {
            let file = Path::new("locales").join(code).join(name);
            catalog.add(code, &file, text, false)?;
        }
        Ok(catalog)
    }

    /// The embedded languages, then `runtime_dir` (if any) merged over them.
    ///
    /// # Errors
    /// See [`Catalog::embedded`] and [`Catalog::load_dir`].
    pub fn new(runtime_dir: Option<&Path>) -> Result<Self, I18nError> {
        let mut catalog = Self::embedded()?;
        if let Some(dir) = runtime_dir {
            catalog.load_dir(dir)?;
        }
        Ok(catalog)
    }

    /// Merges a folder laid out like `locales/` (`<dir>/<code>/*.ftl`): new languages are
    /// added, messages of known languages are overridden or extended.
    ///
    /// # Errors
    /// The folder cannot be read, a folder name is not a language code, or a file has a
    /// syntax error or defines a message twice (the error names the file and line).
    pub fn load_dir(&mut self, dir: &Path) -> Result<(), I18nError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| I18nError::Io { path, source }
        };
        let mut folders: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io(dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        folders.sort();
        for folder in folders {
            let Some(code) = folder
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_owned)
            else {
                continue;
            };
            let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
                .map_err(io(&folder))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "ftl"))
                .collect();
            files.sort();
            // Parse every file of the folder before touching the catalogue.
            let mut parsed = Vec::new();
            for file in files {
                let text = std::fs::read_to_string(&file).map_err(io(&file))?;
                parsed.push((file, text));
            }
            for (file, text) in parsed {
                self.add(&code, &file, &text, true)?;
            }
        }
        Ok(())
    }

    fn add(
        &mut self,
        code: &str,
        file: &Path,
        text: &str,
        overriding: bool,
    ) -> Result<(), I18nError> {
        let text: String = text.nfc().collect();
        let resource = match FluentResource::try_new(text.clone()) {
            Ok(r) => r,
            Err((_, errors)) => {
                let first = errors.into_iter().next();
                let (line, message) = first
                    .map(|e| {
                        // `slice` starts at the broken entry; `pos` may point past its end.
                        let at = e.slice.as_ref().map_or(e.pos.start, |s| s.start);
                        (line_of(&text, at), e.kind.to_string())
                    })
                    .unwrap_or((0, "unknown error".into()));
                return Err(I18nError::Syntax {
                    file: file.to_path_buf(),
                    line,
                    message,
                });
            }
        };
        if !self.locales.contains_key(code) {
            let dir = file.parent().unwrap_or(file);
            self.locales
                .insert(code.to_owned(), Locale::new(code, dir)?);
        }
        let locale = self.locales.get_mut(code).expect("inserted above");
        if overriding {
            locale.bundle.add_resource_overriding(resource);
            return Ok(());
        }
        locale.bundle.add_resource(resource).map_err(|errors| {
            let id = errors
                .iter()
                .find_map(|e| match e {
                    fluent_bundle::FluentError::Overriding { id, .. } => Some(id.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            let line = text
                .lines()
                .position(|l| {
                    l.trim_start().starts_with(&format!("{id} "))
                        || l.starts_with(&format!("{id}="))
                })
                .map_or(0, |i| i + 1);
            I18nError::Duplicate {
                file: file.to_path_buf(),
                line,
                id,
                locale: code.to_owned(),
            }
        })
    }

    /// `(code, own name)` of every language: Vietnamese first, English second, then the
    /// others by code. A language without `language-name` shows its code.
    #[must_use]
    pub fn languages(&self) -> Vec<(String, String)> {
        let rank = |c: &str| match c {
            "vi" => 0,
            "en" => 1,
            _ => 2,
        };
        let mut codes: Vec<&String> = self.locales.keys().collect();
        codes.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
        codes
            .into_iter()
            .map(|code| {
                let name = self
                    .lookup(code, LANGUAGE_NAME_KEY, None)
                    .unwrap_or_else(|| code.clone());
                (code.clone(), name)
            })
            .collect()
    }

    /// Whether `lang` defines `key` itself (no fallback).
    #[must_use]
    pub fn has(&self, lang: &str, key: &str) -> bool {
        self.locales
            .get(lang)
            .is_some_and(|l| l.bundle.has_message(key))
    }

    /// The message `key` in `lang`, falling back to Vietnamese, then to the key itself.
    #[must_use]
    pub fn t(&self, lang: &str, key: &str) -> String {
        self.resolve(lang, key, None)
    }

    /// Like [`Catalog::t`], for a message with one argument `$value`.
    #[must_use]
    pub fn ta(&self, lang: &str, key: &str, value: &str) -> String {
        let mut args = FluentArgs::new();
        args.set("value", value.to_owned());
        self.resolve(lang, key, Some(&args))
    }

    fn resolve(&self, lang: &str, key: &str, args: Option<&FluentArgs<'_>>) -> String {
        if let Some(s) = self.lookup(lang, key, args) {
            return s;
        }
        if lang != FALLBACK_LANGUAGE {
            if let Some(s) = self.lookup(FALLBACK_LANGUAGE, key, args) {
                tracing::warn!(lang, key, "message missing, using the Vietnamese text");
                return s;
            }
        }
        tracing::warn!(
            lang,
            key,
            "message missing in every language, showing its key"
        );
        key.to_owned()
    }

    fn lookup(&self, lang: &str, key: &str, args: Option<&FluentArgs<'_>>) -> Option<String> {
        let bundle = &self.locales.get(lang)?.bundle;
        let pattern = bundle.get_message(key)?.value()?;
        let mut errors = Vec::new();
        let s = bundle.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            tracing::warn!(lang, key, ?errors, "message formatted with errors");
        }
        Some(s.into_owned())
    }
}

fn line_of(text: &str, byte: usize) -> usize {
    text.get(..byte).unwrap_or(text).matches('\n').count() + 1
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// Keys in the key argument of `Tr.t(...)`, `Tr.ta(...)` (first) and `Tr.tl(...)` (second).
    fn slint_keys(src: &str) -> Vec<String> {
        let mut keys = Vec::new();
        for (call, key_arg) in [("Tr.t(", 0), ("Tr.ta(", 0), ("Tr.tl(", 1)] {
            let mut rest = src;
            while let Some(i) = rest.find(call) {
                rest = &rest[i + call.len()..];
                // Split the call's arguments at top-level commas.
                let (mut depth, mut in_str, mut arg, mut start) = (0, false, 0, 0);
                for (j, c) in rest.char_indices() {
                    match c {
                        '"' => in_str = !in_str,
                        _ if in_str => {}
                        '(' => depth += 1,
                        ')' if depth == 0 => {
                            if arg == key_arg {
                                keys.extend(literals(&rest[start..j]));
                            }
                            break;
                        }
                        ')' => depth -= 1,
                        ',' if depth == 0 => {
                            if arg == key_arg {
                                keys.extend(literals(&rest[start..j]));
                            }
                            arg += 1;
                            start = j + 1;
                        }
                        _ => {}
                    }
                }
            }
        }
        keys
    }

    fn literals(s: &str) -> Vec<String> {
        s.split('"').skip(1).step_by(2).map(str::to_owned).collect()
    }

    fn slint_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                slint_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "slint") {
                out.push(p);
            }
        }
    }

    #[test]
    fn every_key_used_in_the_views_exists_in_vi_and_en() {
        let catalog = Catalog::embedded().unwrap();
        let mut files = Vec::new();
        slint_files(&repo().join("ui/ui"), &mut files);
        let mut keys = BTreeSet::new();
        for f in &files {
            keys.extend(slint_keys(&std::fs::read_to_string(f).unwrap()));
        }
        assert!(keys.len() > 30, "the scanner found too few keys: {keys:?}");
        let missing: Vec<String> = keys
            .iter()
            .flat_map(|k| ["vi", "en"].into_iter().map(move |l| (l, k)))
            .filter(|(l, k)| !catalog.has(l, k))
            .map(|(l, k)| format!("{l}: {k}"))
            .collect();
        assert!(
            missing.is_empty(),
            "keys used in ui/ui but missing: {missing:#?}"
        );
    }

    #[test]
    fn vi_and_en_define_the_same_keys() {
        let ids = |lang: &str| -> BTreeSet<String> {
            let text = std::fs::read_to_string(repo().join("locales").join(lang).join("kiosk.ftl"))
                .unwrap();
            // Message definitions start a line with `id =`.
            text.lines()
                .filter_map(|l| l.split_once(" ="))
                .map(|(id, _)| id.to_owned())
                .filter(|id| id.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
                .filter(|id| id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
                .collect()
        };
        let (vi, en) = (ids("vi"), ids("en"));
        assert_eq!(
            vi.difference(&en).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "only in vi"
        );
        assert_eq!(
            en.difference(&vi).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "only in en"
        );
    }

    #[test]
    fn vietnamese_files_are_nfc() {
        for (code, name, text) in EMBEDDED_LOCALES {
            assert!(
                unicode_normalization::is_nfc(text),
                "locales/{code}/{name} is not NFC: re-save it normalised (e.g. `uconv -x nfc`)"
            );
        }
        let catalog = Catalog::embedded().unwrap();
        assert!(unicode_normalization::is_nfc(
            &catalog.t("vi", "attract-touch")
        ));
    }

    #[test]
    fn languages_vi_first_with_own_names() {
        let langs = Catalog::embedded().unwrap().languages();
        assert_eq!(langs[0], ("vi".into(), "Tiếng Việt".into()));
        assert_eq!(langs[1], ("en".into(), "English".into()));
    }

    #[test]
    fn no_isolation_marks_and_arguments_work() {
        let c = Catalog::embedded().unwrap();
        assert_eq!(c.ta("vi", "step-of", "2/7"), "Bước 2/7");
        assert_eq!(c.ta("en", "step-of", "2/7"), "Step 2/7");
    }

    #[test]
    fn missing_key_falls_back_to_vi_then_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("xx")).unwrap();
        std::fs::write(dir.path().join("xx/kiosk.ftl"), "language-name = Xx-lang\n").unwrap();
        let mut c = Catalog::embedded().unwrap();
        c.load_dir(dir.path()).unwrap();
        assert_eq!(c.t("xx", "btn-cancel"), "Hủy");
        assert_eq!(c.t("xx", "no-such-key"), "no-such-key");
        assert_eq!(c.t("zz", "btn-cancel"), "Hủy");
    }

    #[test]
    fn a_dropped_in_locale_folder_appears_without_code_change() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("xx")).unwrap();
        std::fs::create_dir_all(dir.path().join("en")).unwrap();
        // Decomposed (NFD) text is normalised on load.
        std::fs::write(
            dir.path().join("xx/kiosk.ftl"),
            "language-name = Xe\u{302}\u{301}\nbtn-cancel = Xx cancel\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("en/extra.ftl"), "btn-cancel = Stop\n").unwrap();
        let c = Catalog::new(Some(dir.path())).unwrap();
        let langs = c.languages();
        let codes: Vec<&str> = langs.iter().map(|(c, _)| c.as_str()).collect();
        // The embedded languages (vi, en, then the others by code, e.g. hmn), then xx.
        assert_eq!(codes[..2], ["vi", "en"]);
        assert_eq!(codes.last(), Some(&"xx"));
        assert_eq!(langs.last().map(|(_, n)| n.as_str()), Some("Xế"));
        assert_eq!(c.t("xx", "btn-cancel"), "Xx cancel");
        assert_eq!(
            c.t("en", "btn-cancel"),
            "Stop",
            "runtime files override embedded ones"
        );
        assert_eq!(c.t("en", "btn-back"), "Back");
    }

    /// Issue 14: the third language is a folder, `locales/hmn/`, with no code naming it: it
    /// is embedded and names itself. (Completeness against Vietnamese is `kioskctl locales
    /// check`'s warning: a key added later in vi alone is shown in Vietnamese.)
    #[test]
    fn the_hmong_folder_is_a_language() {
        let c = Catalog::embedded().unwrap();
        assert!(c
            .languages()
            .iter()
            .any(|(code, name)| code == "hmn" && name == "Lus Hmoob"));
        for key in ["btn-help", "help-call-staff", "id-title", "consent-body"] {
            assert!(c.has("hmn", key), "{key}");
        }
        assert_eq!(c.t("hmn", "btn-help"), "Pab");
    }

    #[test]
    fn syntax_errors_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("hmn")).unwrap();
        let file = dir.path().join("hmn/kiosk.ftl");
        std::fs::write(&file, "language-name = Hmoob\nok = fine\nbroken = { \n").unwrap();
        let err = Catalog::new(Some(dir.path())).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, I18nError::Syntax { line: 3, .. }), "{msg}");
        assert!(msg.contains("hmn/kiosk.ftl:3:"), "{msg}");
    }

    #[test]
    fn bad_folder_name_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("not a code!")).unwrap();
        std::fs::write(dir.path().join("not a code!/k.ftl"), "a = b\n").unwrap();
        let err = Catalog::new(Some(dir.path())).unwrap_err();
        assert!(matches!(err, I18nError::BadLocale { .. }), "{err}");
    }
}
