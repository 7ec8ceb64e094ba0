//! `kioskctl catalog list`: the services a kiosk will offer, from the built-in list, a
//! catalogue file, or whatever a configuration file points at.

use std::io::Write;
use std::path::PathBuf;

use kiosk_app::catalog::{Catalog, EntryKind};
use kiosk_app::config::{self, ConfigError, Mode};
use serde::Serialize;

use crate::cli::CatalogList;
use crate::{table, Outcome};

pub(crate) fn run(
    args: &CatalogList,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let (source, catalog) = match load(args) {
        Ok(found) => found,
        Err(e) => {
            writeln!(err, "error: {e}")?;
            return Ok(Outcome::Invalid);
        }
    };
    let listing = Listing::new(source, &catalog, &args.lang);
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &listing)?;
        writeln!(out)?;
    } else {
        listing.print(out)?;
    }
    Ok(Outcome::Ok)
}

/// The catalogue the arguments designate, and the file it came from (`None`: built in).
fn load(args: &CatalogList) -> Result<(Option<PathBuf>, Catalog), ConfigError> {
    if let Some(path) = &args.config {
        let cfg = config::load(path)?;
        return Ok(match &cfg.catalog_file {
            Some(file) => (Some(file.clone()), Catalog::load(file, cfg.mode)?),
            None => (None, Catalog::builtin(cfg.mode)),
        });
    }
    // clap guarantees --config or --mode (an argument group), and --file requires --mode.
    let mode: Mode = args.mode.map_or(Mode::OneStopShop, Mode::from);
    Ok(match &args.file {
        Some(file) => (Some(file.clone()), Catalog::load(file, mode)?),
        None => (None, Catalog::builtin(mode)),
    })
}

/// The printed (or serialised) catalogue.
#[derive(Debug, Serialize)]
struct Listing {
    /// The catalogue file; `null` for the built-in list.
    source: Option<PathBuf>,
    mode: String,
    lang: String,
    entries: Vec<EntryDto>,
}

#[derive(Debug, Serialize)]
struct EntryDto {
    id: String,
    /// `procedure` or `department`.
    kind: &'static str,
    code: String,
    /// Procedures only: false while the code is a placeholder.
    code_verified: Option<bool>,
    /// Procedures only: one of the essential public services.
    essential: Option<bool>,
    /// In the requested language, or Vietnamese when the entry has no title in it.
    title: String,
}

impl Listing {
    fn new(source: Option<PathBuf>, catalog: &Catalog, lang: &str) -> Self {
        let entries = catalog
            .entries()
            .iter()
            .map(|e| {
                let (kind, code, code_verified, essential) = match &e.kind {
                    EntryKind::Procedure {
                        code,
                        code_verified,
                        essential,
                        ..
                    } => ("procedure", code, Some(*code_verified), Some(*essential)),
                    EntryKind::Department { code } => ("department", code, None, None),
                };
                EntryDto {
                    id: e.id.to_string(),
                    kind,
                    code: code.clone(),
                    code_verified,
                    essential,
                    title: e.title(lang).to_owned(),
                }
            })
            .collect();
        Self {
            source,
            mode: catalog.mode().to_string(),
            lang: lang.to_owned(),
            entries,
        }
    }

    fn print(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let source = self
            .source
            .as_ref()
            .map_or("built-in catalogue".to_owned(), |p| {
                format!("catalogue {}", p.display())
            });
        writeln!(
            out,
            "{source}, mode {}, {} entries, titles in `{}` (Vietnamese where missing)",
            self.mode,
            self.entries.len(),
            self.lang
        )?;
        let yes_no = |b: Option<bool>| match b {
            Some(true) => "yes",
            Some(false) => "no",
            None => "-",
        };
        let mut rows = vec![["ID", "CODE", "VERIFIED", "ESSENTIAL", "TITLE"]
            .map(str::to_owned)
            .to_vec()];
        rows.extend(self.entries.iter().map(|e| {
            vec![
                e.id.clone(),
                e.code.clone(),
                yes_no(e.code_verified).to_owned(),
                yes_no(e.essential).to_owned(),
                e.title.clone(),
            ]
        }));
        out.write_all(table::render(&rows).as_bytes())?;
        let placeholders = self
            .entries
            .iter()
            .filter(|e| e.code_verified == Some(false))
            .count();
        if placeholders > 0 {
            writeln!(
                out,
                "note: {placeholders} procedure(s) have no verified code (VERIFIED no: the kiosk \
                 id stands in as MaTTHC): set the codes of the provincial catalogue before go-live"
            )?;
        }
        Ok(())
    }
}
