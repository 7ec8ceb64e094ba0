//! `kioskctl locales check DIR`: validates language packs before they go onto a kiosk.
//!
//! The pack is loaded exactly as the kiosk loads `ui.locales_dir` (`i18n::Catalog::new`:
//! built-in languages, then DIR merged over them), so syntax errors are the kiosk's own, with
//! file and line. The kiosk's loader stops at the first broken file, so a pack with several
//! broken files takes several runs.
//!
//! Completeness is judged against the Vietnamese reference (every message the kiosk shows
//! exists in Vietnamese, the fallback language): a key missing in a language is shown in
//! Vietnamese on screen, a warning. Key lists come from [`crate::ftl`], each key confirmed
//! with `Catalog::has`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use kiosk_app::i18n::{self, FALLBACK_LANGUAGE, LANGUAGE_NAME_KEY};

use crate::cli::LocalesCheck;
use crate::{ftl, table, Outcome};

pub(crate) fn run(
    args: &LocalesCheck,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let dir = &args.dir;
    let pack = match read_pack(dir) {
        Ok(pack) => pack,
        Err(message) => {
            writeln!(err, "error: {message}")?;
            return Ok(Outcome::Invalid);
        }
    };
    let catalog = match i18n::Catalog::new(Some(dir)) {
        Ok(c) => c,
        Err(e) => {
            writeln!(err, "error: {e}")?;
            return Ok(Outcome::Invalid);
        }
    };
    let report = Report::new(&catalog, &pack);

    writeln!(
        out,
        "Language packs in {}: {} language(s)",
        dir.display(),
        report.languages.len()
    )?;
    let rows: Vec<Vec<String>> = report
        .languages
        .iter()
        .map(|l| {
            let status = match l.missing.len() {
                0 => "complete".to_owned(),
                n => format!("{n} missing"),
            };
            vec![
                format!("  {}", l.code),
                l.name.clone(),
                format!("{} messages", l.messages),
                status,
            ]
        })
        .collect();
    out.write_all(table::render(&rows).as_bytes())?;
    for w in &report.warnings {
        writeln!(out, "warning: {w}")?;
    }

    let n = report.warnings.len();
    Ok(if n == 0 {
        writeln!(out, "OK")?;
        Outcome::Ok
    } else if args.strict {
        writeln!(out, "FAILED: {n} warning(s) and --strict")?;
        Outcome::Warnings
    } else {
        writeln!(
            out,
            "OK with {n} warning(s) (--strict makes warnings fail the check)"
        )?;
        Outcome::Ok
    })
}

/// The `.ftl` texts of one language folder of the pack.
#[derive(Debug)]
struct PackLanguage {
    code: String,
    /// (file, contents), sorted by file name as the kiosk loads them.
    files: Vec<(PathBuf, String)>,
}

/// Reads DIR's language folders. Errors are technician messages: what is wrong, what to do.
fn read_pack(dir: &Path) -> Result<Vec<PackLanguage>, String> {
    let cannot = |path: &Path, e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let mut folders = Vec::new();
    let mut loose_ftl = false;
    for entry in std::fs::read_dir(dir).map_err(|e| cannot(dir, e))? {
        let path = entry.map_err(|e| cannot(dir, e))?.path();
        if path.is_dir() {
            folders.push(path);
        } else if path.extension().is_some_and(|x| x == "ftl") {
            loose_ftl = true;
        }
    }
    if folders.is_empty() {
        let hint = if loose_ftl {
            "it holds .ftl files directly: pass the folder above it (`locales`, not `locales/hmn`)"
        } else {
            "a pack folder holds one sub-folder per language, e.g. `hmn/kiosk.ftl`"
        };
        return Err(format!("{}: no language folders; {hint}", dir.display()));
    }
    folders.sort();
    let mut pack = Vec::new();
    for folder in folders {
        // The kiosk skips folders whose names are not UTF-8; so does the check.
        let Some(code) = folder.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&folder).map_err(|e| cannot(&folder, e))? {
            let path = entry.map_err(|e| cannot(&folder, e))?.path();
            if path.is_file() && path.extension().is_some_and(|x| x == "ftl") {
                let text = std::fs::read_to_string(&path).map_err(|e| cannot(&path, e))?;
                files.push((path, text));
            }
        }
        files.sort();
        pack.push(PackLanguage {
            code: code.to_owned(),
            files,
        });
    }
    Ok(pack)
}

#[derive(Debug)]
struct LanguageReport {
    code: String,
    /// Its own name, or its code when `language-name` is missing.
    name: String,
    /// Distinct messages the pack's files define for it.
    messages: usize,
    /// Reference keys it lacks (after merging with the built-in languages).
    missing: Vec<String>,
}

#[derive(Debug)]
struct Report {
    languages: Vec<LanguageReport>,
    warnings: Vec<String>,
}

impl Report {
    fn new(catalog: &i18n::Catalog, pack: &[PackLanguage]) -> Self {
        // Ids the pack defines, per language, confirmed by the loaded catalogue.
        let mut defined: BTreeMap<&str, BTreeMap<String, Vec<&Path>>> = BTreeMap::new();
        for lang in pack {
            let ids = defined.entry(lang.code.as_str()).or_default();
            for (file, text) in &lang.files {
                for id in ftl::message_ids(text) {
                    if catalog.has(&lang.code, id) {
                        ids.entry(id.to_owned()).or_default().push(file);
                    }
                }
            }
        }
        // The reference: the built-in Vietnamese messages plus any the pack adds to `vi`.
        let reference: BTreeSet<String> = ftl::reference_ids()
            .into_iter()
            .chain(
                defined
                    .get(FALLBACK_LANGUAGE)
                    .into_iter()
                    .flat_map(|ids| ids.keys().cloned()),
            )
            .filter(|id| catalog.has(FALLBACK_LANGUAGE, id))
            .collect();

        let mut languages = Vec::new();
        let mut warnings = Vec::new();
        // `languages()` gives the kiosk's order: vi, en, then by code.
        for (code, name) in catalog.languages() {
            let Some(ids) = defined.get(code.as_str()) else {
                continue;
            };
            let missing: Vec<String> = reference
                .iter()
                .filter(|k| !catalog.has(&code, k))
                .cloned()
                .collect();
            if !missing.is_empty() {
                let mut w = format!(
                    "{code}: {} key(s) of the Vietnamese reference are missing; the kiosk shows \
                     them in Vietnamese:",
                    missing.len()
                );
                for k in &missing {
                    w.push_str(&format!("\n    {k}"));
                }
                if missing.iter().any(|k| k == LANGUAGE_NAME_KEY) {
                    w.push_str(&format!(
                        "\n  add `{LANGUAGE_NAME_KEY} = ...` (the language's own name): without \
                         it the language screen shows `{code}`"
                    ));
                }
                warnings.push(w);
            }
            for (id, files) in ids {
                if !reference.contains(id) {
                    let hint = match ftl::suggest(id, reference.iter().map(String::as_str)) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "check the spelling or remove it".to_owned(),
                    };
                    warnings.push(format!(
                        "{code}: `{id}` ({}) is not a key the kiosk uses, so it is never shown; \
                         {hint}",
                        files[0].display()
                    ));
                }
                if files.len() > 1 {
                    let places: Vec<String> =
                        files.iter().map(|f| f.display().to_string()).collect();
                    warnings.push(format!(
                        "{code}: `{id}` is defined {} times ({}); keep one definition",
                        files.len(),
                        places.join(", ")
                    ));
                }
            }
            languages.push(LanguageReport {
                code,
                name,
                messages: ids.len(),
                missing,
            });
        }
        for lang in pack.iter().filter(|l| l.files.is_empty()) {
            warnings.push(format!(
                "{}: the folder has no .ftl files, so the kiosk ignores it",
                lang.code
            ));
        }
        Self {
            languages,
            warnings,
        }
    }
}
