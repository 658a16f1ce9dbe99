//! The runner's sockets, every byte counted as it passes: at the TCP socket (TLS
//! included: what the link carries) and, over TLS, above it (what HTTP wrote and read).
//! A lane's connector opens them, so its counts are the lane's alone.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use http::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use lab_instrument::run::data::SocketBytes;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_util::io::{InspectReader, InspectWriter};

/// Bytes one way and the other, counted as they pass.
#[derive(Debug, Default)]
pub struct ByteCounts {
    read: AtomicU64,
    written: AtomicU64,
}

impl ByteCounts {
    pub fn read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}

/// A lane's sockets, counted.
#[derive(Debug, Default)]
pub struct WireCounts {
    /// At the TCP socket: TLS records included.
    pub socket: Arc<ByteCounts>,
    /// Above TLS (equal to `socket` on a cleartext lane).
    pub plaintext: Arc<ByteCounts>,
    /// Connections opened.
    pub connections: AtomicU64,
}

impl WireCounts {
    /// The counts so far, as the run's data carries them.
    pub fn totals(&self) -> SocketBytes {
        SocketBytes {
            socket_written: self.socket.written(),
            socket_read: self.socket.read(),
            plaintext_written: self.plaintext.written(),
            plaintext_read: self.plaintext.read(),
            connections: self.connections.load(Ordering::Relaxed),
        }
    }
}

type Tally = Box<dyn FnMut(&[u8]) + Send>;

/// `S` with every byte read and written counted.
pub type Counted<S> = InspectWriter<InspectReader<S, Tally>, Tally>;

/// `stream`, its bytes read and written added to `counts` as they pass (the backend
/// counts its listeners' sockets with it, as the runner counts its own).
pub fn count_bytes<S: AsyncRead + AsyncWrite>(stream: S, counts: Arc<ByteCounts>) -> Counted<S> {
    let reads = counts.clone();
    let on_read: Tally = Box::new(move |bytes| {
        reads.read.fetch_add(bytes.len() as u64, Ordering::Relaxed);
    });
    let on_write: Tally = Box::new(move |bytes| {
        counts
            .written
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
    });
    InspectWriter::new(InspectReader::new(stream, on_read), on_write)
}

fn counted<S: AsyncRead + AsyncWrite>(
    stream: S,
    counts: &Arc<WireCounts>,
    plaintext: bool,
) -> Counted<S> {
    let side = if plaintext {
        &counts.plaintext
    } else {
        &counts.socket
    };
    count_bytes(stream, side.clone())
}

/// One of the runner's connections.
pub enum WireStream {
    /// Cleartext: its socket's bytes and its plaintext's, the same ones.
    Plain(Box<Counted<Counted<TcpStream>>>),
    /// TLS over a counted socket, counted again above TLS; whether ALPN chose `h2`.
    Tls(Box<Counted<TlsStream<Counted<TcpStream>>>>, bool),
}

impl Connection for WireStream {
    fn connected(&self) -> Connected {
        match self {
            WireStream::Tls(_, true) => Connected::new().negotiated_h2(),
            _ => Connected::new(),
        }
    }
}

macro_rules! each {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.get_mut() {
            WireStream::Plain($s) => $e,
            WireStream::Tls($s, _) => $e,
        }
    };
}

impl AsyncRead for WireStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        each!(self, s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for WireStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        each!(self, s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        each!(self, s => Pin::new(s).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            WireStream::Plain(s) => s.is_write_vectored(),
            WireStream::Tls(s, _) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => Pin::new(s).poll_shutdown(cx))
    }
}

/// Opens a lane's connections: TCP (Nagle off, as the backend's), then TLS when the
/// lane has a TLS configuration, every byte counted into `counts`.
#[derive(Clone)]
pub struct Connector {
    tls: Option<TlsConnector>,
    counts: Arc<WireCounts>,
}

impl Connector {
    pub fn new(tls: Option<Arc<rustls::ClientConfig>>, counts: Arc<WireCounts>) -> Self {
        Self {
            tls: tls.map(TlsConnector::from),
            counts,
        }
    }

    /// A connection to `uri`'s host and port.
    pub async fn open(&self, uri: &Uri) -> io::Result<WireStream> {
        let host = uri
            .host()
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("{uri} has no host"))
            })?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(match self.tls {
            Some(_) => 443,
            None => 80,
        });
        let tcp = TcpStream::connect((host.as_str(), port)).await?;
        tcp.set_nodelay(true)?;
        self.counts.connections.fetch_add(1, Ordering::Relaxed);
        let Some(tls) = &self.tls else {
            // Cleartext: the socket's bytes are the plaintext's.
            let plain = count_bytes(tcp, self.counts.socket.clone());
            let plain = count_bytes(plain, self.counts.plaintext.clone());
            return Ok(WireStream::Plain(Box::new(plain)));
        };
        let socket = counted(tcp, &self.counts, false);
        let name = ServerName::try_from(host.clone())
            .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, format!("{host}: {err}")))?;
        let stream = tls.connect(name, socket).await?;
        let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
        Ok(WireStream::Tls(
            Box::new(counted(stream, &self.counts, true)),
            h2,
        ))
    }
}

impl tower::Service<Uri> for Connector {
    type Response = TokioIo<WireStream>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<TokioIo<WireStream>>> + Send + 'static>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connector = self.clone();
        Box::pin(async move { connector.open(&uri).await.map(TokioIo::new) })
    }
}

/// A TLS client configuration that trusts `ca_pem` (the lab's local CA) alone and
/// offers `alpn`.
pub fn tls_config(ca_pem: &[u8], alpn: &[&[u8]]) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let certificates = CertificateDer::pem_slice_iter(ca_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| format!("the CA certificate: {err}"))?;
    // A chain may be given (leaf, then CA): each certificate it holds is trusted.
    roots.add_parsable_certificates(certificates);
    if roots.is_empty() {
        return Err("the CA file holds no certificate".into());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| err.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn every_byte_each_way_is_counted_once() {
        let (near, mut far) = tokio::io::duplex(64);
        let counts = Arc::new(ByteCounts::default());
        let mut counted = count_bytes(near, counts.clone());
        counted.write_all(b"hello, ").await.unwrap();
        counted.write_all(b"world").await.unwrap();
        let mut got = [0u8; 12];
        far.read_exact(&mut got).await.unwrap();
        far.write_all(b"back").await.unwrap();
        let mut answer = [0u8; 4];
        counted.read_exact(&mut answer).await.unwrap();
        assert_eq!((counts.written(), counts.read()), (12, 4));
        assert_eq!(&answer, b"back");
    }

    #[test]
    fn a_ca_file_without_a_certificate_is_refused_with_the_reason() {
        let err = tls_config(b"not a certificate", &[b"h2"]).unwrap_err();
        assert!(err.contains("no certificate"), "{err}");
    }
}
