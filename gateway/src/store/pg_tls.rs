//! TLS to PostgreSQL with rustls (the build's only TLS stack): tokio-postgres' `MakeTlsConnect`
//! over tokio-rustls, trusting only the roots given (the database's CA).
//!
//! Written here because the published adapter (`tokio-postgres-rustls`) pulls a second
//! x509-cert generation, which deps-policy.toml forbids. No channel binding (SCRAM-SHA-256
//! without `-PLUS`): the server is authenticated by its certificate.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use postgres::Socket;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Makes TLS connections to PostgreSQL servers whose certificates chain to the given roots.
#[derive(Clone)]
pub struct RustlsMake(Arc<rustls::ClientConfig>);

impl std::fmt::Debug for RustlsMake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RustlsMake").finish_non_exhaustive()
    }
}

impl RustlsMake {
    /// Trusts the certificates in `roots_pem` (PEM, one or more).
    ///
    /// # Errors
    ///
    /// No certificate in the PEM, or one rustls cannot use (message).
    pub fn new(roots_pem: &str) -> Result<Self, String> {
        crate::tls::client_config(roots_pem)
            .map(Self)
            .map_err(|e| format!("PostgreSQL CA: {e}"))
    }
}

/// One connection's TLS set-up.
#[derive(Debug)]
pub struct RustlsConnect {
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
}

/// The encrypted stream.
#[derive(Debug)]
pub struct RustlsStream(tokio_rustls::client::TlsStream<Socket>);

impl MakeTlsConnect<Socket> for RustlsMake {
    type Stream = RustlsStream;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> io::Result<RustlsConnect> {
        let name = ServerName::try_from(domain.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        Ok(RustlsConnect {
            config: Arc::clone(&self.0),
            name,
        })
    }
}

impl TlsConnect<Socket> for RustlsConnect {
    type Stream = RustlsStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream>> + Send>>;

    fn connect(self, stream: Socket) -> Self::Future {
        Box::pin(async move {
            let tls = tokio_rustls::TlsConnector::from(self.config)
                .connect(self.name, stream)
                .await?;
            Ok(RustlsStream(tls))
        })
    }
}

impl AsyncRead for RustlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for RustlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl TlsStream for RustlsStream {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}
