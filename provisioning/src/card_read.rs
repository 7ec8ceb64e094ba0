//! `kioskctl card read` and `kioskctl card readers`: the technician's chip diagnostic.
//!
//! Reads a CCCD over PC/SC with PACE-CAN (from `--id` or `--can`) or BAC (`--doc --dob
//! --expiry`), verifies it (passive authentication against the CSCA certificates in `--trust`,
//! Active Authentication with DG15) and prints what was read and every verdict. Personal fields
//! are redacted unless `--show-personal`. Exits 0 only when the identity is verified.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{ArgGroup, Args, Subcommand};
use kiosk_icao9303::auth::{ActiveVerdict, PassiveVerdict};
use kiosk_icao9303::lds::{self, File};
use kiosk_icao9303::pace::Password;
use kiosk_icao9303::policy::CloneVerdict;
use kiosk_icao9303::reader::{
    self, Access, ExtendedLength, ExtendedLengthSource, LinkError, ReadError, ReadOptions,
};
use kiosk_icao9303::{bac, Error as ProtoError};
use serde_json::json;

use crate::Outcome;

/// `kioskctl card ...`.
#[derive(Debug, Subcommand)]
pub enum CardCommand {
    /// Read a CCCD chip, verify it and print what was read and each verdict
    #[command(
        long_about = "Read a CCCD chip through a PC/SC reader and verify it: PACE with the CAN \
                      (the last 6 digits of the 12-digit ID number), or BAC from the MRZ data; \
                      then passive authentication (SOD signature, Document Signer certificate, \
                      a CSCA certificate from --trust, every data group hash) and Active \
                      Authentication when the card has DG15.\n\n\
                      Personal fields are shown as <redacted> unless --show-personal is given.",
        after_help = "Examples:\n  kioskctl card read --id - --trust /etc/kiosk/csca   (asks for the ID \
                      number)\n  \
                      echo \"$ID\" | kioskctl card read --id - --json\n  \
                      kioskctl card read --doc 090123456 --dob 900101 --expiry 300101 --json\n\n\
                      An ID number given as `--id 0010...` is visible to every user in the \
                      process list and stays in the shell history: prefer `--id -` (or `--id` \
                      alone), which reads it from standard input, with a prompt on a \
                      terminal.\n\n\
                      Exit status:\n  0  identity verified\n  \
                      1  read, but not verified (see the verdicts)\n  \
                      2  the card could not be read (the message says why and what to do)"
    )]
    Read(Box<CardRead>),
    /// List the card readers pcscd knows
    Readers,
}

/// `kioskctl card read`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("key").required(true).args(["id", "can", "doc"])))]
pub struct CardRead {
    /// The 12-digit ID number (PACE with its last 6 digits as CAN); `-` or no value: read it
    /// from standard input (prompted on a terminal), out of the process list and history
    #[arg(long, value_name = "12 DIGITS|-", num_args = 0..=1, default_missing_value = "-")]
    pub id: Option<String>,
    /// The 6-digit card access number
    #[arg(long, value_name = "6 DIGITS")]
    pub can: Option<String>,
    /// BAC: the 9-digit document number (the last 9 digits of the ID number)
    #[arg(long, value_name = "9 DIGITS", requires_all = ["dob", "expiry"])]
    pub doc: Option<String>,
    /// BAC: date of birth
    #[arg(long, value_name = "YYMMDD")]
    pub dob: Option<String>,
    /// BAC: date of expiry
    #[arg(long, value_name = "YYMMDD")]
    pub expiry: Option<String>,
    /// Reader name (or its beginning); default: the first reader with a card
    #[arg(long, value_name = "NAME")]
    pub reader: Option<String>,
    /// Folder of trusted CSCA certificates (DER or PEM, one per file)
    #[arg(long, value_name = "DIR")]
    pub trust: Option<PathBuf>,
    /// Write the portrait: decoded to PNG if FILE ends in .png, else as read (JPEG / JPEG 2000)
    #[arg(long, value_name = "FILE")]
    pub portrait_out: Option<PathBuf>,
    /// Print the result as JSON, for scripts
    #[arg(long)]
    pub json: bool,
    /// Show personal fields instead of <redacted>
    #[arg(long)]
    pub show_personal: bool,
    /// Largest block per READ BINARY
    #[arg(long, default_value_t = 223)]
    pub max_read: usize,
    /// Extended-length reads: `auto` uses them only when the card says it supports them (ATR or
    /// EF.ATR/INFO), `on` tries them anyway, `off` never; a refused read always falls back to
    /// short reads
    #[arg(long, value_enum, default_value_t = Extended::Auto)]
    pub extended: Extended,
    /// Same as `--extended off`
    #[arg(long, conflicts_with = "extended")]
    pub no_extended: bool,
}

/// `--extended`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Extended {
    /// Only when the card says it supports extended length
    Auto,
    /// Try extended-length reads whatever the card says
    On,
    /// Short reads only
    Off,
}

/// Runs a `card` command.
///
/// # Errors
/// Only when the report cannot be written.
pub fn run(cmd: &CardCommand, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<Outcome> {
    match cmd {
        CardCommand::Read(args) => read(args, out, err),
        CardCommand::Readers => readers(out, err),
    }
}

#[cfg(feature = "pcsc")]
fn readers(out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<Outcome> {
    match kiosk_hw::card::pcsc::list_readers() {
        Ok(r) if r.is_empty() => {
            writeln!(
                err,
                "no card reader connected (check the USB cable; is the reader's driver installed?)"
            )?;
            Ok(Outcome::Invalid)
        }
        Ok(r) => {
            for name in r {
                writeln!(out, "{name}")?;
            }
            Ok(Outcome::Ok)
        }
        Err(e) => {
            writeln!(err, "{e}")?;
            Ok(Outcome::Invalid)
        }
    }
}

#[cfg(not(feature = "pcsc"))]
fn readers(_out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<Outcome> {
    writeln!(
        err,
        "this kioskctl was built without PC/SC support (cargo feature `pcsc`)"
    )?;
    Ok(Outcome::Invalid)
}

/// Where the card said it supports extended length, for the report.
fn ext_source(s: Option<ExtendedLengthSource>) -> &'static str {
    match s {
        Some(ExtendedLengthSource::Atr) => "atr",
        Some(ExtendedLengthSource::EfAtrInfo) => "ef.atr/info",
        Some(ExtendedLengthSource::Forced) => "not asked (--extended on)",
        Some(_) => "other",
        None => "nothing",
    }
}

/// The exit status for "read but not verified" (between Ok and Invalid).
fn not_verified() -> Outcome {
    Outcome::Warnings
}

/// `--id`'s value: the argument itself, or for `-` one line of `input` (after `prompt` on
/// standard error when standard input is a terminal).
fn id_number(
    value: &str,
    input: &mut dyn std::io::BufRead,
    prompt: Option<&mut dyn Write>,
) -> Result<String, String> {
    if value != "-" {
        return Ok(value.to_owned());
    }
    if let Some(p) = prompt {
        let _ = write!(p, "ID number (12 digits): ");
        let _ = p.flush();
    }
    use std::io::BufRead as _;
    let mut line = String::new();
    // Bounded: an ID number is 12 digits; a runaway pipe is not read whole.
    std::io::Read::take(input, 256)
        .read_line(&mut line)
        .map_err(|e| format!("--id -: cannot read standard input: {e}"))?;
    let id = line.trim();
    if id.is_empty() {
        return Err("--id -: no ID number on standard input".to_owned());
    }
    Ok(id.to_owned())
}

fn access(args: &CardRead, id: Option<&str>) -> Result<Access, String> {
    let bac_seed = match (&args.doc, &args.dob, &args.expiry) {
        (Some(doc), Some(dob), Some(exp)) => Some(bac::key_seed(
            &bac::mrz_information(doc, dob, exp).map_err(|e| format!("BAC data: {e}"))?,
        )),
        _ => None,
    };
    let password = match (id, &args.can) {
        (Some(id), _) => Some(Password::can_from_id(id).map_err(|e| format!("--id: {e}"))?),
        (None, Some(can)) => Some(Password::can(can).map_err(|e| format!("--can: {e}"))?),
        _ => None,
    };
    Ok(match (password, bac_seed) {
        (Some(password), bac_fallback) => Access::Pace {
            password,
            bac_fallback,
        },
        (None, Some(seed)) => Access::Bac(seed),
        (None, None) => return Err("give --id, --can or --doc/--dob/--expiry".into()),
    })
}

/// Reads every certificate in `dir` (DER, or PEM with CERTIFICATE blocks) with the kiosk's
/// own loader, so that kioskctl and the kiosk trust the same files.
fn load_trust(dir: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    Ok(kiosk_app::identity::CscaTrust::load_dir(dir)?)
}

fn now_utc() -> String {
    let f = time::macros::format_description!("[year][month][day][hour][minute][second]");
    time::OffsetDateTime::now_utc()
        .format(&f)
        .unwrap_or_default()
}

/// A decoded portrait: width, height.
fn decode_portrait(face: &lds::FaceImage) -> Result<(usize, usize, Vec<u8>), String> {
    // JPEG (zune-jpeg) or JPEG 2000 (hayro-jpeg2000), the same decoder the face check uses.
    let img = kiosk_face::portrait::decode(face.data.as_slice()).map_err(|e| e.to_string())?;
    Ok((img.width as usize, img.height as usize, img.data.clone()))
}

fn redact(show: bool, s: &str) -> String {
    if show {
        s.to_string()
    } else {
        "<redacted>".to_string()
    }
}

/// What to tell a technician about a failed read.
fn explain(e: &ReadError) -> String {
    match e {
        ReadError::Link(link) => {
            let kind = link
                .downcast_ref::<kiosk_hw::CardError>()
                .map(kiosk_hw::CardError::kind);
            let hint = match kind {
                Some(kiosk_hw::CardErrorKind::CardRemoved) => {
                    "keep the card on the reader and try again"
                }
                Some(kiosk_hw::CardErrorKind::NoCard) => "put the card on the reader",
                Some(kiosk_hw::CardErrorKind::NoReader) => {
                    "connect the reader (check the USB cable)"
                }
                Some(kiosk_hw::CardErrorKind::ServiceUnavailable) => {
                    "start pcscd (`systemctl start pcscd`)"
                }
                Some(kiosk_hw::CardErrorKind::Timeout) => {
                    "the card did not answer: hold it still, flat on the reader"
                }
                _ => "try again; if it persists, try another reader",
            };
            format!("{e}: {hint}")
        }
        ReadError::Protocol(ProtoError::AccessDenied(_)) => {
            format!("{e}: check the ID number / CAN (last 6 digits of the ID) or the MRZ data")
        }
        ReadError::NotEmrtd => format!("{e}: this is not a chip ID card"),
        _ => e.to_string(),
    }
}

#[cfg(feature = "pcsc")]
fn open_reader(name: Option<&str>) -> Result<Box<dyn kiosk_hw::CardReader>, kiosk_hw::CardError> {
    Ok(Box::new(kiosk_hw::card::pcsc::PcscCardReader::open(name)?))
}

#[cfg(not(feature = "pcsc"))]
fn open_reader(_name: Option<&str>) -> Result<Box<dyn kiosk_hw::CardReader>, kiosk_hw::CardError> {
    Err(kiosk_hw::CardError::new(
        kiosk_hw::CardErrorKind::NoReader,
        "this kioskctl was built without PC/SC support (cargo feature `pcsc`)",
    ))
}

fn read(args: &CardRead, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<Outcome> {
    let id = match args.id.as_deref().map(|v| {
        use std::io::IsTerminal as _;
        let stdin = std::io::stdin();
        let terminal = stdin.is_terminal();
        let mut stderr = std::io::stderr();
        let prompt: Option<&mut dyn Write> = if terminal { Some(&mut stderr) } else { None };
        id_number(v, &mut stdin.lock(), prompt)
    }) {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(e)) => {
            writeln!(err, "{e}")?;
            return Ok(Outcome::Invalid);
        }
    };
    let access = match access(args, id.as_deref()) {
        Ok(a) => a,
        Err(e) => {
            writeln!(err, "{e}")?;
            return Ok(Outcome::Invalid);
        }
    };
    let trust = match &args.trust {
        Some(dir) => match load_trust(dir) {
            Ok(t) => t,
            Err(e) => {
                writeln!(err, "{e:#}")?;
                return Ok(Outcome::Invalid);
            }
        },
        None => Vec::new(),
    };
    let mut reader = match open_reader(args.reader.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            writeln!(err, "{e}")?;
            return Ok(Outcome::Invalid);
        }
    };
    // Wait briefly for a card, so that "put the card on now" works.
    let deadline = Instant::now() + Duration::from_secs(5);
    let atr = loop {
        match reader.wait_for_change(Duration::from_millis(500)) {
            Ok(kiosk_hw::card::CardPresence::Present { atr }) => break atr,
            Ok(_) if Instant::now() < deadline => {}
            Ok(_) => {
                writeln!(
                    err,
                    "no card on reader {:?}: put the card on the reader",
                    reader.name()
                )?;
                return Ok(Outcome::Invalid);
            }
            Err(e) => {
                writeln!(err, "{e}")?;
                return Ok(Outcome::Invalid);
            }
        }
    };
    let opts = ReadOptions {
        max_read: args.max_read,
        extended_length: match (args.no_extended, args.extended) {
            (true, _) | (false, Extended::Off) => ExtendedLength::Off,
            (false, Extended::On) => ExtendedLength::On,
            (false, Extended::Auto) => ExtendedLength::Auto,
        },
        atr: Some(atr),
        ..ReadOptions::default()
    };
    let mut rng = rand::rng();
    let mut fill = |b: &mut [u8]| rand::Rng::fill_bytes(&mut rng, b);
    let mut transport = |apdu: &[u8]| -> Result<Vec<u8>, LinkError> { Ok(reader.transmit(apdu)?) };
    let start = Instant::now();
    let mut result = reader::read_chip(&mut transport, &access, &opts, &mut fill);
    // A card that was just put down can fail its first exchanges while the reader settles (the
    // field powers up, pcscd reports the new card late): read once more before giving up, as
    // the kiosk does when a citizen taps again.
    if let Err(ReadError::Link(e)) = &result {
        let kind = e
            .downcast_ref::<kiosk_hw::CardError>()
            .map(kiosk_hw::CardError::kind);
        if matches!(
            kind,
            Some(kiosk_hw::CardErrorKind::Transport | kiosk_hw::CardErrorKind::CardRemoved)
        ) {
            std::thread::sleep(Duration::from_millis(300));
            result = reader::read_chip(&mut transport, &access, &opts, &mut fill);
        }
    }
    let read = match result {
        Ok(r) => r,
        Err(e) => {
            writeln!(err, "{}", explain(&e))?;
            return Ok(Outcome::Invalid);
        }
    };
    let read_time = start.elapsed();
    let cpu = Instant::now();
    // A clock before this build makes every certificate "not yet valid": say what to fix
    // instead of calling a genuine card forged.
    if let Err(e) = kiosk_app::clock::check(time::OffsetDateTime::now_utc()) {
        writeln!(err, "error: {e}")?;
        return Ok(Outcome::Invalid);
    }
    // Passive authentication plus the clone checks the chip offers (kiosk_icao9303::policy).
    let verdict = read.chip_verdict(&trust, &now_utc());
    let (pa, aa) = (&verdict.passive, &verdict.active);
    let show = args.show_personal;

    let mrz = read.files.get(&File::Dg(1)).map(|d| lds::parse_dg1(d));
    let dg13 = read.files.get(&File::Dg(13)).map(|d| lds::parse_dg13(d));
    let face = read.files.get(&File::Dg(2)).map(|d| lds::parse_dg2(d));
    let decoded = match &face {
        Some(Ok(f)) => Some(decode_portrait(f)),
        _ => None,
    };
    let verify_time = cpu.elapsed();

    let mut portrait_note = None;
    if let (Some(path), Some(Ok(f))) = (&args.portrait_out, &face) {
        let res = if path.extension().is_some_and(|e| e == "png") {
            match &decoded {
                Some(Ok((w, h, px))) => write_png(path, *w, *h, px),
                Some(Err(e)) => Err(anyhow::anyhow!("{e}")),
                None => Err(anyhow::anyhow!("no portrait")),
            }
        } else {
            std::fs::write(path, f.data.as_slice()).map_err(Into::into)
        };
        portrait_note = Some(match res {
            Ok(()) => format!("written to {}", path.display()),
            Err(e) => format!("not written: {e:#}"),
        });
    }

    let files: BTreeMap<String, usize> = read
        .files
        .iter()
        .map(|(k, v)| (k.to_string(), v.len()))
        .collect();
    let mut dg13_json = serde_json::Map::new();
    if let Some(Ok(d)) = &dg13 {
        for (n, v) in &d.fields {
            let value = match v {
                lds::Dg13Value::Text(s) => json!(redact(show, s)),
                lds::Dg13Value::List(items) => {
                    json!(items.iter().map(|s| redact(show, s)).collect::<Vec<_>>())
                }
                lds::Dg13Value::Raw(r) => json!(format!("<{} bytes>", r.len())),
            };
            dg13_json.insert(n.to_string(), value);
        }
    }
    let mrz_json = match &mrz {
        Some(Ok(m)) => json!({
            "document_code": m.document_code,
            "issuing_state": m.issuing_state,
            "document_number": redact(show, &m.document_number),
            "id_number": redact(show, m.cccd_id_number().unwrap_or_default()),
            "surname": redact(show, &m.surname),
            "given_names": redact(show, &m.given_names),
            "date_of_birth": redact(show, &m.date_of_birth),
            "sex": redact(show, &m.sex.to_string()),
            "date_of_expiry": redact(show, &m.date_of_expiry),
            "nationality": m.nationality,
            "check_digits_ok": m.check_digits_ok,
        }),
        Some(Err(e)) => json!({ "error": e.to_string() }),
        None => json!(null),
    };
    let portrait_json = match (&face, &decoded) {
        (Some(Ok(f)), Some(Ok((w, h, _)))) => {
            json!({ "format": format!("{:?}", f.format), "bytes": f.data.len(), "width": w, "height": h, "decoded": true })
        }
        (Some(Ok(f)), Some(Err(e))) => {
            json!({ "format": format!("{:?}", f.format), "bytes": f.data.len(), "decoded": false, "error": e })
        }
        (Some(Err(e)), _) => json!({ "error": e.to_string() }),
        _ => json!(null),
    };
    let verified = verdict.accepted();
    let reason = if !pa.is_verified() {
        Some(pa.code())
    } else if verdict.possibly_cloned() {
        Some(verdict.clone.code())
    } else {
        None
    };
    let clone_detail = match &verdict.clone {
        CloneVerdict::PossiblyCloned(why) => format!("possibly cloned: {why}"),
        _ => String::new(),
    };
    let report = json!({
        "reader": reader.name(),
        "access": format!("{:?}", read.access.unwrap_or(reader::AccessUsed::Plain)),
        "apdus": read.apdus,
        "extended_length": read.extended_length_used,
        "extended_length_source": ext_source(read.extended_length_source),
        "secure_messaging_restarts": read.sm_restarts,
        "read_ms": read_time.as_millis() as u64,
        "verify_ms": verify_time.as_millis() as u64,
        "files": files,
        "mrz": mrz_json,
        "dg13": dg13_json,
        "portrait": portrait_json,
        "passive_authentication": { "verdict": pa.code(), "detail": pa_detail(pa) },
        "active_authentication": { "verdict": aa.code(), "detail": aa_detail(aa) },
        "chip_authentication": verdict.chip_auth.as_ref().map(|c| c.code()),
        "clone_checks": { "verdict": verdict.clone.code(), "detail": clone_detail, "notes": verdict.notes },
        "verified": verified,
        "reason": reason,
    });
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        writeln!(out, "reader:   {}", reader.name())?;
        writeln!(
            out,
            "access:   {}   APDUs: {}   extended length: {} (card says: {})   secure messaging restarts: {}",
            report["access"].as_str().unwrap_or_default(),
            read.apdus,
            read.extended_length_used,
            ext_source(read.extended_length_source),
            read.sm_restarts
        )?;
        writeln!(
            out,
            "time:     read {} ms, verify+decode {} ms",
            read_time.as_millis(),
            verify_time.as_millis()
        )?;
        for (f, n) in &files {
            writeln!(out, "  {f:<14} {n} bytes")?;
        }
        if let Some(Ok(m)) = &mrz {
            writeln!(out, "DG1 (MRZ): {} {} no. {} ID {} name {} {} born {} sex {} expires {} check digits {}",
                m.document_code, m.issuing_state, redact(show, &m.document_number),
                redact(show, m.cccd_id_number().unwrap_or_default()), redact(show, &m.surname),
                redact(show, &m.given_names), redact(show, &m.date_of_birth), redact(show, &m.sex.to_string()),
                redact(show, &m.date_of_expiry), if m.check_digits_ok { "ok" } else { "WRONG" })?;
        }
        if let Some(Err(e)) = &mrz {
            writeln!(out, "DG1: {e}")?;
        }
        match &dg13 {
            Some(Ok(_)) => {
                writeln!(out, "DG13:")?;
                for (n, v) in &dg13_json {
                    writeln!(
                        out,
                        "  {n:>2}: {}",
                        match v {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        }
                    )?;
                }
            }
            Some(Err(e)) => writeln!(out, "DG13: {e}")?,
            None => writeln!(out, "DG13: not read")?,
        }
        writeln!(out, "portrait: {portrait_json}")?;
        if let Some(note) = &portrait_note {
            writeln!(out, "          {note}")?;
        }
        writeln!(
            out,
            "passive authentication: {} {}",
            pa.code(),
            pa_detail(pa)
        )?;
        writeln!(
            out,
            "active authentication:  {} {}",
            aa.code(),
            aa_detail(aa)
        )?;
        writeln!(
            out,
            "chip authentication:    {}",
            verdict.chip_auth.as_ref().map_or("not run", |c| c.code())
        )?;
        writeln!(
            out,
            "clone checks:           {} {}",
            verdict.clone.code(),
            clone_detail
        )?;
        writeln!(
            out,
            "identity {}",
            if verified { "VERIFIED" } else { "NOT VERIFIED" }
        )?;
    }
    Ok(if verified {
        Outcome::Ok
    } else {
        not_verified()
    })
}

fn pa_detail(pa: &PassiveVerdict) -> String {
    match pa {
        PassiveVerdict::NotAttempted(why) => (*why).to_string(),
        PassiveVerdict::SignatureInvalid(why) => why.clone(),
        PassiveVerdict::HashMismatch(dgs) => format!("data groups {dgs:?} do not match the SOD"),
        PassiveVerdict::CscaUnknown => {
            "the SOD is validly signed, but by no CSCA in --trust".into()
        }
        PassiveVerdict::DsCertificateExpired => {
            "the Document Signer certificate is outside its validity".into()
        }
        PassiveVerdict::UnsupportedAlgorithm(what) => format!(
            "this kiosk build cannot check the card's algorithm ({what}): \
             a software matter, not a forged card"
        ),
        PassiveVerdict::WeakAlgorithm(what) => {
            format!("refused: {what} (too weak to vouch for an identity)")
        }
        PassiveVerdict::AlgorithmMismatch(what) => format!("algorithms disagree: {what}"),
        PassiveVerdict::EContentTypeWrong => {
            "the SOD's content is not an LDS security object".into()
        }
        PassiveVerdict::DsKeyUsage => {
            "the Document Signer certificate does not allow digitalSignature".into()
        }
        PassiveVerdict::CscaExpired => {
            "the trusted CSCA that signed the Document Signer is outside its validity".into()
        }
        PassiveVerdict::CscaNotCa(why) => {
            format!("the trusted certificate that signed the Document Signer is not a CA: {why}")
        }
        PassiveVerdict::Verified => String::new(),
        _ => String::new(),
    }
}

fn aa_detail(aa: &ActiveVerdict) -> String {
    match aa {
        ActiveVerdict::NotAttempted(why) => (*why).to_string(),
        ActiveVerdict::Failed(why) => format!("possible cloned chip: {why}"),
        _ => String::new(),
    }
}

fn write_png(path: &Path, w: usize, h: usize, rgb: &[u8]) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut enc = png::Encoder::new(
        std::io::BufWriter::new(file),
        u32::try_from(w)?,
        u32::try_from(h)?,
    );
    let channels = rgb.len() / (w * h).max(1);
    enc.set_color(if channels == 1 {
        png::ColorType::Grayscale
    } else {
        png::ColorType::Rgb
    });
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()?.write_image_data(rgb)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    /// The ID number can stay off the command line: `--id -` (or `--id` alone) reads it from
    /// standard input, with a prompt only on a terminal.
    #[test]
    fn the_id_number_can_come_from_standard_input() {
        let mut prompt = Vec::new();
        let id = id_number("-", &mut &b"001090123456\nrest"[..], Some(&mut prompt));
        assert_eq!(id.as_deref(), Ok("001090123456"));
        assert_eq!(String::from_utf8_lossy(&prompt), "ID number (12 digits): ");
        assert_eq!(
            id_number("001090123456", &mut &b""[..], None).as_deref(),
            Ok("001090123456")
        );
        let e = id_number("-", &mut &b"\n"[..], None).expect_err("empty");
        assert!(e.contains("no ID number"), "{e}");

        // `--id` with no value means standard input too.
        for args in [
            &["kioskctl", "card", "read", "--id"][..],
            &["kioskctl", "card", "read", "--id", "-"],
        ] {
            let cli = crate::cli::Cli::try_parse_from(args).expect("parses");
            let crate::cli::Command::Card(CardCommand::Read(r)) = cli.command else {
                panic!("not card read");
            };
            assert_eq!(r.id.as_deref(), Some("-"));
        }
    }
}
