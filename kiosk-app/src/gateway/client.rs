//! [`GatewayClient`]: the kiosk's std-only client for the loopback demo gateway.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::codes;
use super::dto::{ErrorBody, InvalidField, SubmissionReceipt, SubmissionRequest, SubmissionStatus};
use super::http::{self, HttpError};
use crate::config::Mode;

/// Longest server error message kept in a [`GatewayError`]: enough to diagnose, short enough
/// for a log line.
const MAX_MESSAGE: usize = 200;

/// What went wrong, at the granularity the outbox decides on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GatewayErrorKind {
    /// No answer: connection refused or timed out, reset, or no response in time. Retry with
    /// backoff; replaying is safe because of the `Idempotency-Key`.
    Unreachable,
    /// The gateway refused the submission (4xx other than those below). Do not retry:
    /// dead-letter and alert an operator.
    Rejected {
        /// HTTP status.
        status: u16,
    },
    /// The gateway cannot take it now: 5xx, or 408, 409 (still processing), 425, 429. Retry
    /// later, honouring [`GatewayError::retry_after`].
    ServerError {
        /// HTTP status.
        status: u16,
    },
    /// The answer is not what the protocol says (malformed HTTP, JSON or receipt). Retry
    /// later, but a persisting protocol error needs a technician (version mismatch).
    Protocol,
    /// The request failed the client's own validation and was not sent. Do not retry.
    Invalid,
}

/// An error from [`GatewayClient`]: match on [`GatewayError::kind`]. Messages never contain
/// personal data: the client names fields, and server messages come from a gateway that does
/// the same.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// See [`GatewayErrorKind::Unreachable`].
    #[error("gateway {addr} unreachable ({stage}): {source}; check that the gateway runs")]
    Unreachable {
        /// The gateway's address.
        addr: SocketAddr,
        /// What was being done: `connect`, `send` or `receive`.
        stage: &'static str,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
    /// An HTTP error status: [`GatewayErrorKind::Rejected`] or
    /// [`GatewayErrorKind::ServerError`] depending on the status.
    #[error("gateway answered HTTP {status} {code}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The gateway's error code (`error` of the JSON body), or empty.
        code: String,
        /// The gateway's message, truncated.
        message: String,
        /// `Retry-After`, when given in seconds.
        retry_after: Option<Duration>,
    },
    /// See [`GatewayErrorKind::Protocol`].
    #[error("gateway protocol error: {0}")]
    Protocol(String),
    /// See [`GatewayErrorKind::Invalid`].
    #[error("submission not sent: {0}")]
    Invalid(#[from] InvalidField),
}

impl GatewayError {
    /// The kind of failure, for retry decisions.
    pub fn kind(&self) -> GatewayErrorKind {
        match self {
            Self::Unreachable { .. } => GatewayErrorKind::Unreachable,
            Self::Status { status, .. } => {
                let status = *status;
                if status >= 500 || matches!(status, 408 | 409 | 425 | 429) {
                    GatewayErrorKind::ServerError { status }
                } else {
                    GatewayErrorKind::Rejected { status }
                }
            }
            Self::Protocol(_) => GatewayErrorKind::Protocol,
            Self::Invalid(_) => GatewayErrorKind::Invalid,
        }
    }

    /// How long the gateway asked to wait before retrying, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Why a base URL was refused by [`GatewayClient::new`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayUrlError {
    /// `https://`: this client has no TLS.
    #[error(
        "{0}: this client speaks plain HTTP to the demo gateway only; real gateways need \
         mutual TLS, which the kiosk's HTTPS transport (kiosk-outbox `https`) provides"
    )]
    TlsNotSupported(String),
    /// A host other than the loopback interface.
    #[error(
        "{0}: plain HTTP is only allowed to 127.0.0.1, [::1] or localhost (the demo gateway); \
         personal data must not cross a network unencrypted"
    )]
    NotLoopback(String),
    /// Not of the form `http://host:port[/prefix]`.
    #[error("{url}: {reason}; expected e.g. http://127.0.0.1:8080")]
    Malformed {
        /// The URL given.
        url: String,
        /// What is wrong.
        reason: &'static str,
    },
}

/// A submission the gateway accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The receipt.
    pub receipt: SubmissionReceipt,
    /// `true` for 201 (a new dossier), `false` for 200 (a replay of one already received).
    pub created: bool,
}

/// Client of the demo gateway over plain HTTP/1.1 on the loopback interface.
#[derive(Debug, Clone)]
pub struct GatewayClient {
    addr: SocketAddr,
    host: String,
    prefix: String,
    timeout: Duration,
}

impl GatewayClient {
    /// A client for `base_url` (`http://127.0.0.1:PORT`, `http://localhost:PORT` or
    /// `http://[::1]:PORT`, optionally with a path prefix); `timeout` bounds connecting,
    /// sending and each wait for data.
    ///
    /// # Errors
    ///
    /// A [`GatewayUrlError`] for TLS URLs, non-loopback hosts and malformed URLs.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, GatewayUrlError> {
        let malformed = |reason| GatewayUrlError::Malformed {
            url: base_url.to_owned(),
            reason,
        };
        if base_url.starts_with("https://") {
            return Err(GatewayUrlError::TlsNotSupported(base_url.to_owned()));
        }
        let rest = base_url
            .strip_prefix("http://")
            .ok_or_else(|| malformed("the scheme must be http://"))?;
        let (authority, prefix) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let prefix = prefix.trim_end_matches('/');
        if prefix.contains(['?', '#', ' ']) {
            return Err(malformed(
                "the URL must not have a query, fragment or spaces",
            ));
        }
        let (host, port) = authority
            .rsplit_once(':')
            .ok_or_else(|| malformed("the port is missing"))?;
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| malformed("the port must be a number from 1 to 65535"))?;
        // No DNS: "localhost" is fixed to 127.0.0.1, so a poisoned hosts file cannot point the
        // plain-HTTP client anywhere else.
        let ip: IpAddr = match host {
            "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
            h => h
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .map_err(|_| GatewayUrlError::NotLoopback(base_url.to_owned()))?,
        };
        if !ip.is_loopback() {
            return Err(GatewayUrlError::NotLoopback(base_url.to_owned()));
        }
        Ok(Self {
            addr: SocketAddr::new(ip, port),
            host: authority.to_owned(),
            prefix: prefix.to_owned(),
            timeout,
        })
    }

    /// Submits a dossier, with its `referenceUid` as the `Idempotency-Key`.
    ///
    /// # Errors
    ///
    /// A [`GatewayError`]; see [`GatewayErrorKind`] for what to do with each kind.
    pub fn submit(&self, request: &SubmissionRequest) -> Result<SubmissionReceipt, GatewayError> {
        self.submit_detailed(request).map(|a| a.receipt)
    }

    /// Like [`GatewayClient::submit`], also telling a new dossier (201) from a replay (200).
    ///
    /// # Errors
    ///
    /// As [`GatewayClient::submit`].
    pub fn submit_detailed(&self, request: &SubmissionRequest) -> Result<Accepted, GatewayError> {
        request.validate()?;
        let body = serde_json::to_vec(request)
            .map_err(|_| GatewayError::Protocol("cannot serialise the submission".to_owned()))?;
        let headers = [
            ("Idempotency-Key", request.reference_uid.as_str()),
            ("Content-Type", "application/json"),
            ("Accept", "application/json"),
        ];
        let (status, receipt): (u16, SubmissionReceipt) =
            self.exchange("POST", "/v1/submissions", &headers, &body)?;
        if !matches!(status, 200 | 201) {
            return Err(GatewayError::Protocol(format!(
                "unexpected success status {status} for a submission"
            )));
        }
        receipt
            .validate()
            .map_err(|e| GatewayError::Protocol(format!("receipt: {e}")))?;
        Ok(Accepted {
            receipt,
            created: status == 201,
        })
    }

    /// Looks up where a dossier stands.
    ///
    /// # Errors
    ///
    /// [`GatewayError::Invalid`] when the codes are malformed (nothing is sent), otherwise as
    /// [`GatewayClient::submit`]; an unknown dossier or wrong lookup code is
    /// [`GatewayErrorKind::Rejected`] with status 404.
    pub fn status(
        &self,
        dossier_code: &str,
        lookup_code: &str,
    ) -> Result<SubmissionStatus, GatewayError> {
        // Validated, so they need no percent-encoding and cannot alter the path.
        if !codes::is_dossier_code(dossier_code) {
            return Err(InvalidField {
                field: "MaHoSo",
                rule: "<agency>-<YYMMDD>-<NNNN>",
            }
            .into());
        }
        if !codes::is_lookup_code(lookup_code) {
            return Err(InvalidField {
                field: "MaTraCuu",
                rule: "8 characters of the lookup alphabet",
            }
            .into());
        }
        let target = format!("/v1/submissions/{dossier_code}?code={lookup_code}");
        let accept = [("Accept", "application/json")];
        self.exchange("GET", &target, &accept, b"").map(|(_, s)| s)
    }

    /// `POST /v1/enrolment` with a technician's token (the demo gateway's plain-HTTP form of
    /// what `kioskctl enrol` does over TLS).
    ///
    /// # Errors
    ///
    /// As [`GatewayClient::submit`]; a refused token is status 401.
    pub fn enrol(
        &self,
        token: &str,
        request: &super::enrol::EnrolmentRequest,
    ) -> Result<super::enrol::EnrolmentResponse, GatewayError> {
        let body = serde_json::to_vec(request)
            .map_err(|_| GatewayError::Protocol("cannot serialise the request".to_owned()))?;
        let auth = format!("Bearer {token}");
        let headers = [
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
            ("Accept", "application/json"),
        ];
        self.exchange("POST", "/v1/enrolment", &headers, &body)
            .map(|(_, r)| r)
    }

    /// `GET /v1/catalog?mode=...`; with `etag` (the cached copy's version) an unchanged
    /// catalogue is `Ok(None)` (304).
    ///
    /// # Errors
    ///
    /// As [`GatewayClient::submit`].
    pub fn catalog(&self, mode: Mode, etag: Option<&str>) -> Result<Option<Vec<u8>>, GatewayError> {
        let quoted = etag.map(|e| format!("\"{e}\""));
        let mut headers = vec![("Accept", "application/json")];
        if let Some(q) = &quoted {
            headers.push(("If-None-Match", q.as_str()));
        }
        match self.exchange_raw("GET", &format!("/v1/catalog?mode={mode}"), &headers, b"") {
            Ok((_, body)) => Ok(Some(body)),
            Err(GatewayError::Status { status: 304, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Checks that the gateway answers `GET /healthz`.
    ///
    /// # Errors
    ///
    /// As [`GatewayClient::submit`].
    pub fn health(&self) -> Result<(), GatewayError> {
        self.exchange::<serde_json::Value>("GET", "/healthz", &[], b"")
            .map(|_| ())
    }

    /// Posts a clinic registration (a FHIR transaction Bundle, see [`super::fhir`]) to this
    /// client's base URL, which is then a FHIR base (`http://127.0.0.1:PORT/fhir`), with `id`
    /// as `Idempotency-Key`; the answer is reduced to the kiosk's receipt by
    /// [`super::fhir::receipt_from_transaction_response`].
    ///
    /// # Errors
    ///
    /// As [`GatewayClient::submit`]; an answer that is not a transaction-response with an
    /// Encounter is [`GatewayError::Protocol`].
    pub fn post_fhir_bundle(&self, id: &str, bundle: &[u8]) -> Result<Accepted, GatewayError> {
        let headers = [
            ("Idempotency-Key", id),
            ("Content-Type", "application/fhir+json"),
            ("Accept", "application/fhir+json"),
        ];
        let (_, body) = self.exchange_raw("POST", "", &headers, bundle)?;
        super::fhir::receipt_from_transaction_response(&body).map_err(GatewayError::Protocol)
    }

    /// Checks that the FHIR server at this client's base URL answers `GET metadata`.
    ///
    /// # Errors
    ///
    /// As [`GatewayClient::submit`].
    pub fn fhir_health(&self) -> Result<(), GatewayError> {
        let accept = [("Accept", "application/fhir+json")];
        self.exchange_raw("GET", "/metadata", &accept, b"")
            .map(|_| ())
    }

    /// One request, one response; decodes a 2xx body as `T`, turns anything else into an error.
    fn exchange<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(u16, T), GatewayError> {
        let (status, body) = self.exchange_raw(method, path, headers, body)?;
        let value = serde_json::from_slice(&body).map_err(|e| {
            GatewayError::Protocol(format!(
                "response body is not the expected JSON ({:?} error at line {} column {})",
                e.classify(),
                e.line(),
                e.column()
            ))
        })?;
        Ok((status, value))
    }

    /// One request, one response; a 2xx status and its body, anything else an error.
    fn exchange_raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), GatewayError> {
        let unreachable = |stage| {
            move |source| GatewayError::Unreachable {
                addr: self.addr,
                stage,
                source,
            }
        };
        let mut stream =
            TcpStream::connect_timeout(&self.addr, self.timeout).map_err(unreachable("connect"))?;
        stream
            .set_read_timeout(Some(self.timeout))
            .and_then(|()| stream.set_write_timeout(Some(self.timeout)))
            .map_err(unreachable("connect"))?;
        let mut target = format!("{}{path}", self.prefix);
        if target.is_empty() {
            target.push('/');
        }
        let request = http::write_request(method, &target, &self.host, headers, body);
        stream
            .write_all(&request)
            .and_then(|()| stream.flush())
            .map_err(unreachable("send"))?;
        let (head, body) = match http::read_message(&mut stream, true) {
            Ok(m) => m,
            Err(HttpError::Io(e)) => return Err(unreachable("receive")(e)),
            Err(e) => return Err(GatewayError::Protocol(e.to_string())),
        };
        let status: u16 = head
            .second
            .parse()
            .ok()
            .filter(|s| (100..=599).contains(s))
            .ok_or_else(|| GatewayError::Protocol("bad status line".to_owned()))?;
        if !(200..300).contains(&status) {
            // The kiosk gateway's ErrorBody keeps its message (its contract: fields are named,
            // never their values). Anything else keeps its codes only (an OperationOutcome's
            // issue codes): a FHIR server's diagnostics, or any other body, may quote the
            // Patient.
            let codes = kiosk_outbox::error_codes(&body);
            let message = match serde_json::from_slice::<ErrorBody>(&body) {
                Ok(e) => e.message,
                Err(_) if codes.is_some() => "FHIR server refused the request".to_owned(),
                Err(_) => "error body without a code (not kept)".to_owned(),
            };
            let code = codes.unwrap_or_default();
            return Err(GatewayError::Status {
                status,
                code: truncate(code),
                message: truncate(message),
                retry_after: head
                    .header("retry-after")
                    .and_then(|v| v.parse::<u64>().ok())
                    .map(Duration::from_secs),
            });
        }
        Ok((status, body))
    }
}

fn truncate(mut s: String) -> String {
    if let Some((i, _)) = s.char_indices().nth(MAX_MESSAGE) {
        s.truncate(i);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_plain_http() {
        let t = Duration::from_secs(1);
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:8080/",
            "http://[::1]:8080/gw",
            "http://127.0.0.2:1",
        ] {
            assert!(GatewayClient::new(ok, t).is_ok(), "{ok}");
        }
        let err = |url| GatewayClient::new(url, t).expect_err(url);
        assert!(matches!(
            err("https://127.0.0.1:8443"),
            GatewayUrlError::TlsNotSupported(_)
        ));
        assert!(matches!(
            err("http://10.0.0.5:80"),
            GatewayUrlError::NotLoopback(_)
        ));
        assert!(matches!(
            err("http://gateway.example:80"),
            GatewayUrlError::NotLoopback(_)
        ));
        assert!(matches!(
            err("ftp://127.0.0.1:21"),
            GatewayUrlError::Malformed { .. }
        ));
        assert!(matches!(
            err("http://127.0.0.1"),
            GatewayUrlError::Malformed { .. }
        ));
        assert!(matches!(
            err("http://127.0.0.1:0"),
            GatewayUrlError::Malformed { .. }
        ));
        assert!(matches!(
            err("http://127.0.0.1:80/?x"),
            GatewayUrlError::Malformed { .. }
        ));
        assert!(err("https://x:1").to_string().contains("mutual TLS"));
    }

    #[test]
    fn kinds_follow_the_retry_rules() {
        let status = |s| GatewayError::Status {
            status: s,
            code: String::new(),
            message: String::new(),
            retry_after: None,
        };
        for s in [400, 401, 403, 404, 413, 422] {
            assert_eq!(status(s).kind(), GatewayErrorKind::Rejected { status: s });
        }
        for s in [408, 409, 425, 429, 500, 502, 503] {
            assert_eq!(
                status(s).kind(),
                GatewayErrorKind::ServerError { status: s }
            );
        }
    }
}
