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
use kiosk_app::gateway::enrol::{
    certifies, new_key_and_csr, write_certificate, write_private_key, EnrolmentRequest,
    EnrolmentResponse,
};
use kiosk_app::gateway::{ErrorBody, GatewayClient, GatewayError};

use crate::Outcome;

/// `kioskctl enrol`.
#[derive(Debug, Args)]
pub struct EnrolArgs {
    /// The gateway, as in [gateway] url (https://...; http://127.0.0.1:PORT for the demo)
    #[arg(long, value_name = "URL", required_unless_present = "renew")]
    pub gateway: Option<String>,
    /// The one-time enrolment token (or set KIOSK_ENROL_TOKEN, which keeps it out of the
    /// shell history)
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// The kiosk's asset id as printed on its case (becomes the certificate's name)
    #[arg(long, value_name = "ID", required_unless_present = "renew")]
    pub kiosk_id: Option<String>,
    /// The deployment CA certificate (PEM) from the provisioning medium: the only trusted root
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Folder for client.pem, client.key and ca.pem
    #[arg(long, value_name = "DIR", default_value = "/var/lib/kiosk/tls")]
    pub out: PathBuf,
    /// Replace an existing certificate and key in --out
    #[arg(long)]
    pub force: bool,
    /// Renew now, over mutual TLS with the current certificate, instead of enrolling: the
    /// gateway and files come from --config (the kiosk renews by itself two thirds into the
    /// certificate's life)
    #[arg(long, requires = "config", conflicts_with_all = ["gateway", "kiosk_id", "token", "ca", "out"])]
    pub renew: bool,
    /// The kiosk configuration, for --renew
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

const TIMEOUT: Duration = Duration::from_secs(20);

/// Runs `kioskctl enrol`.
///
/// # Errors
///
/// Only when the report cannot be written.
pub fn run(args: &EnrolArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<Outcome> {
    if args.renew {
        return match renew(args) {
            Ok(not_after) => {
                writeln!(out, "renewed until {not_after}")?;
                Ok(Outcome::Ok)
            }
            Err(msg) => {
                writeln!(err, "kioskctl: renewal failed: {msg}")?;
                Ok(Outcome::Invalid)
            }
        };
    }
    match enrol(args) {
        Ok((r, written)) => {
            writeln!(
                out,
                "enrolled {} until {}",
                args.kiosk_id.as_deref().unwrap_or_default(),
                r.not_after
            )?;
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

#[cfg(feature = "https")]
fn renew(args: &EnrolArgs) -> Result<String, String> {
    let path = args
        .config
        .as_deref()
        .ok_or("--renew needs --config FILE")?;
    let cfg = kiosk_app::config::load(path).map_err(|e| e.to_string())?;
    let g = &cfg.gateway;
    let (Some(ca), Some((cert, key))) = (&g.ca_file, &g.client_identity) else {
        return Err("[gateway] has no ca_file, client_cert and client_key: enrol first".to_owned());
    };
    if !g.url.as_str().starts_with("https://") {
        return Err("renewal needs an https gateway (mutual TLS)".to_owned());
    }
    let transport = kiosk_outbox::https::HttpsTransport::new(&kiosk_outbox::https::HttpsConfig {
        base_url: g.url.as_str().to_owned(),
        fhir_base_url: None,
        ca_pem: ca.clone(),
        client_cert_pem: cert.clone(),
        client_key_pem: key.clone(),
        spki_sha256: g.spki_sha256,
        timeout: TIMEOUT,
    })
    .map_err(|e| e.to_string())?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    match kiosk_app::renewal::renew_if_due(&transport, now, true)? {
        kiosk_app::renewal::Renewal::Renewed { not_after } => Ok(not_after),
        kiosk_app::renewal::Renewal::NotDue { .. } => Err("not renewed".to_owned()),
    }
}

#[cfg(not(feature = "https"))]
fn renew(_args: &EnrolArgs) -> Result<String, String> {
    Err("this kioskctl was built without the `https` feature".to_owned())
}

fn enrol(args: &EnrolArgs) -> Result<(EnrolmentResponse, Vec<PathBuf>), String> {
    let (Some(gateway), Some(kiosk_id)) = (&args.gateway, &args.kiosk_id) else {
        return Err("--gateway and --kiosk-id are needed to enrol".to_owned());
    };
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
    let (key_pem, csr) = new_key_and_csr(kiosk_id)?;
    let request = EnrolmentRequest {
        kiosk_id: kiosk_id.clone(),
        csr,
    };
    let response = if gateway.starts_with("https://") {
        let ca = args.ca.as_deref().ok_or(
            "an https gateway needs --ca FILE: the deployment CA certificate from the \
             provisioning medium",
        )?;
        enrol_https(gateway, ca, token, &request)?
    } else {
        let client = GatewayClient::new(gateway, TIMEOUT).map_err(|e| e.to_string())?;
        client.enrol(token, &request).map_err(|e| explain(&e))?
    };
    if !certifies(&response.certificate, &key_pem) {
        return Err("the gateway's certificate does not fit this kiosk's key".to_owned());
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    // The key first, private from the start; the certificate last, so a half-written folder
    // never looks enrolled.
    write_private_key(&key_path, &key_pem)?;
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
    write_certificate(&cert_path, &response.certificate)?;
    written.push(cert_path);
    Ok((response, written))
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
