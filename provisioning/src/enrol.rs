//! `kioskctl enrol`: the kiosk gets its client certificate from the gateway.
//!
//! The technician brings a one-time token (from the provincial operator) and the deployment
//! CA certificate (on the provisioning medium). kioskctl generates the kiosk's P-256 key on
//! the kiosk, sends a PKCS#10 request with the token to `POST /v1/enrolment` over TLS trusting
//! only that CA, and writes the certificate and key where `[gateway] client_cert` and
//! `client_key` point (key mode 0600, written before the certificate and never printed).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use kiosk_app::gateway::enrol::{new_key_and_csr, EnrolmentRequest, EnrolmentResponse};
use kiosk_app::gateway::{ErrorBody, GatewayClient, GatewayError};

use crate::Outcome;

/// `kioskctl enrol`.
#[derive(Debug, Args)]
pub struct EnrolArgs {
    /// The gateway, as in [gateway] url (https://...; http://127.0.0.1:PORT for the demo)
    #[arg(long, value_name = "URL")]
    pub gateway: String,
    /// The one-time enrolment token (or set KIOSK_ENROL_TOKEN, which keeps it out of the
    /// shell history)
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// The kiosk's asset id as printed on its case (becomes the certificate's name)
    #[arg(long, value_name = "ID")]
    pub kiosk_id: String,
    /// The deployment CA certificate (PEM) from the provisioning medium: the only trusted root
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Folder for client.pem, client.key and ca.pem
    #[arg(long, value_name = "DIR", default_value = "/var/lib/kiosk/tls")]
    pub out: PathBuf,
    /// Replace an existing certificate and key in --out
    #[arg(long)]
    pub force: bool,
}

const TIMEOUT: Duration = Duration::from_secs(20);

/// Runs `kioskctl enrol`.
///
/// # Errors
///
/// Only when the report cannot be written.
pub fn run(args: &EnrolArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<Outcome> {
    match enrol(args) {
        Ok((r, written)) => {
            writeln!(out, "enrolled {} until {}", args.kiosk_id, r.not_after)?;
            for p in written {
                writeln!(out, "  wrote {}", p.display())?;
            }
            writeln!(
                out,
                "Point [gateway] client_cert, client_key and ca_file at these files, then \
                 `kioskctl config check`."
            )?;
            Ok(Outcome::Ok)
        }
        Err(msg) => {
            writeln!(err, "kioskctl: enrolment failed: {msg}")?;
            Ok(Outcome::Invalid)
        }
    }
}

fn enrol(args: &EnrolArgs) -> Result<(EnrolmentResponse, Vec<PathBuf>), String> {
    let cert_path = args.out.join("client.pem");
    let key_path = args.out.join("client.key");
    let ca_path = args.out.join("ca.pem");
    if !args.force && (cert_path.exists() || key_path.exists()) {
        return Err(format!(
            "{} already holds a certificate or key; pass --force to replace them",
            args.out.display()
        ));
    }
    let token = args
        .token
        .clone()
        .or_else(|| std::env::var("KIOSK_ENROL_TOKEN").ok())
        .unwrap_or_default();
    let token = token.trim();
    if token.is_empty() {
        return Err(
            "no token: pass --token or set KIOSK_ENROL_TOKEN (the operator gives one per kiosk)"
                .to_owned(),
        );
    }
    let (key_pem, csr) = new_key_and_csr(&args.kiosk_id)?;
    let request = EnrolmentRequest {
        kiosk_id: args.kiosk_id.clone(),
        csr,
    };
    let response = if args.gateway.starts_with("https://") {
        let ca = args.ca.as_deref().ok_or(
            "an https gateway needs --ca FILE: the deployment CA certificate from the \
             provisioning medium",
        )?;
        enrol_https(&args.gateway, ca, token, &request)?
    } else {
        let client = GatewayClient::new(&args.gateway, TIMEOUT).map_err(|e| e.to_string())?;
        client.enrol(token, &request).map_err(|e| explain(&e))?
    };
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    // The key first, private from the start; the certificate last, so a half-written folder
    // never looks enrolled.
    write_private(&key_path, key_pem.as_bytes())?;
    let mut written = vec![key_path];
    if let Some(ca) = &response.ca_certificate {
        // Keep the CA the technician brought if there is one: it is the trust anchor.
        let anchor = match &args.ca {
            Some(p) => std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read {}: {e}", p.display()))?,
            None => ca.clone(),
        };
        std::fs::write(&ca_path, anchor)
            .map_err(|e| format!("cannot write {}: {e}", ca_path.display()))?;
        written.push(ca_path);
    }
    std::fs::write(&cert_path, &response.certificate)
        .map_err(|e| format!("cannot write {}: {e}", cert_path.display()))?;
    written.push(cert_path);
    Ok((response, written))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// What a refused or failed enrolment means for the technician.
fn explain(e: &GatewayError) -> String {
    match e {
        GatewayError::Status { status: 401, .. } => {
            "the gateway refused the token (unknown, expired or already used): ask the operator \
             for a new one"
                .to_owned()
        }
        other => other.to_string(),
    }
}

#[cfg(feature = "https")]
fn enrol_https(
    url: &str,
    ca: &Path,
    token: &str,
    request: &EnrolmentRequest,
) -> Result<EnrolmentResponse, String> {
    let body = serde_json::to_vec(request).map_err(|e| e.to_string())?;
    let (status, body) = kiosk_outbox::https::enrol_blocking(url, ca, None, token, body, TIMEOUT)
        .map_err(|e| e.to_string())?;
    match status {
        201 | 200 => serde_json::from_slice(&body)
            .map_err(|_| "the gateway's answer is not an enrolment response".to_owned()),
        401 => Err(explain(&GatewayError::Status {
            status,
            code: String::new(),
            message: String::new(),
            retry_after: None,
        })),
        _ => {
            let detail = serde_json::from_slice::<ErrorBody>(&body)
                .map(|b| format!("{}: {}", b.error, b.message))
                .unwrap_or_default();
            Err(format!("the gateway answered {status} {detail}"))
        }
    }
}

#[cfg(not(feature = "https"))]
fn enrol_https(
    _url: &str,
    _ca: &Path,
    _token: &str,
    _request: &EnrolmentRequest,
) -> Result<EnrolmentResponse, String> {
    Err("this kioskctl was built without the `https` feature".to_owned())
}
