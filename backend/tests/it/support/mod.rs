//! What the integration tests share: a real backend on 127.0.0.1:0, every listener.

pub mod browser;
pub mod clients;
pub mod cutting_proxy;
pub mod h3_client;
pub mod load;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use lab_backend::certificate::Certificate;
use lab_backend::link::{Link, LinkProfile};
use lab_backend::listener::ListenerStatus;
use lab_backend::local_ca::LocalCa;
use lab_backend::rest::ServerStatus;
use lab_backend::{AppState, BoundListener, Config, ListenerKind, app, serve};
use lab_proto::contract::{network, rest};
use tokio::sync::oneshot;

use clients::Endpoint;

/// A backend serving on ephemeral loopback ports until dropped: the plain listener,
/// both TLS ones and the QUIC one (with a certificate generated for it alone; the
/// HTTP/2 listener advertises the QUIC one in `Alt-Svc`, as the backend's does).
pub struct TestServer {
    /// The plain listener.
    pub addr: SocketAddr,
    /// The TLS listener offering only `http/1.1`.
    pub tls_http1_addr: SocketAddr,
    /// The TLS listener offering `h2` and `http/1.1`.
    pub tls_h2_addr: SocketAddr,
    /// The QUIC listener (UDP) serving HTTP/3.
    pub h3_addr: SocketAddr,
    pub certificate: Arc<Certificate>,
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
}

impl TestServer {
    /// Serves the lab with `static_dir` as the frontend.
    pub async fn start(static_dir: PathBuf) -> Self {
        Self::with_config(Config::new(static_dir)).await
    }

    /// Serves the API only (the static directory is empty).
    pub async fn api() -> Self {
        Self::start(std::env::temp_dir().join("lab-no-frontend")).await
    }

    /// Serves the lab with `config`.
    pub async fn with_config(config: Config) -> Self {
        Self::with_config_at(config, "127.0.0.1:0".parse().unwrap()).await
    }

    /// Serves the lab with `config`, the plain listener on `addr` (e.g. the address of
    /// a server that was stopped, to restart it); the TLS ones on ephemeral ports.
    pub async fn with_config_at(config: Config, addr: SocketAddr) -> Self {
        Self::serve_listeners(config, addr, &[None], ephemeral_certificate()).await
    }

    /// Serves the lab with `config`, every listener's connections passing through a
    /// link of `profile` (each listener its own link, as the backend's are).
    pub async fn with_link(config: Config, profile: LinkProfile) -> Self {
        let any = "127.0.0.1:0".parse().unwrap();
        Self::serve_listeners(config, any, &[Some(profile)], ephemeral_certificate()).await
    }

    /// Serves the lab with `static_dir` as the backend does with `--link`: the loopback
    /// listeners, and the same three again with a link of `profile` each.
    pub async fn with_network_beside(static_dir: PathBuf, profile: LinkProfile) -> Self {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let networks = [None, Some(profile)];
        Self::serve_listeners(
            Config::new(static_dir),
            any,
            &networks,
            ephemeral_certificate(),
        )
        .await
    }

    /// [`Self::with_network_beside`], the TLS listeners presenting a certificate that
    /// `ca` issued (as the backend's are, by the lab's local CA).
    pub async fn with_network_beside_issued_by(
        static_dir: PathBuf,
        profile: LinkProfile,
        ca: &LocalCa,
    ) -> Self {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let certificate = Arc::new(Certificate::issued_by(ca).expect("issue a certificate"));
        let networks = [None, Some(profile)];
        Self::serve_listeners(Config::new(static_dir), any, &networks, certificate).await
    }

    /// Binds the four listeners once per network (the plain one of the first on
    /// `addr`), the HTTP/2 one advertising the QUIC one, and serves them; the fields
    /// name the first network's.
    async fn serve_listeners(
        config: Config,
        addr: SocketAddr,
        networks: &[Option<LinkProfile>],
        certificate: Arc<Certificate>,
    ) -> Self {
        let any_port: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let mut listeners = Vec::new();
        for (n, profile) in networks.iter().enumerate() {
            let plain = if n == 0 { addr } else { any_port };
            for (kind, addr) in [
                (ListenerKind::Plain, plain),
                (ListenerKind::TlsHttp1, any_port),
                (ListenerKind::TlsH2, any_port),
                (ListenerKind::QuicH3, any_port),
            ] {
                let link = profile.clone().map(Link::new);
                let listener = BoundListener::bind(kind, addr, Some(&certificate), link)
                    .await
                    .unwrap_or_else(|err| panic!("bind {kind} on {addr}: {err}"));
                listeners.push(listener);
            }
            let quic_port = listeners[listeners.len() - 1].info().addr.port();
            let h2 = listeners.len() - 2;
            listeners[h2].advertise_h3(quic_port);
        }
        let bound = |i: usize| listeners[i].info().addr;
        let (addr, tls_http1_addr, tls_h2_addr, h3_addr) = (bound(0), bound(1), bound(2), bound(3));
        let mut config = config;
        config.tls_chain_pem = Some(certificate.cert_pem().to_owned());
        let state =
            AppState::new(config).with_listeners(listeners.iter().map(|l| l.info().clone()));
        let (tx, rx) = oneshot::channel();
        let router = app(state.clone());
        let limits = state.config.connection.clone();
        tokio::spawn(async move {
            serve::serve(listeners, router, &limits, async {
                let _ = rx.await;
            })
            .await
            .expect("test server failed");
        });
        Self {
            addr,
            tls_http1_addr,
            tls_h2_addr,
            h3_addr,
            certificate,
            state,
            shutdown: Some(tx),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The origin of the loopback listener of `kind`, as a browser opens it.
    pub fn origin(&self, kind: ListenerKind) -> String {
        self.origin_of(kind, network::LOOPBACK)
    }

    /// The origin of the `kind` listener of `network` (`loopback`, a profile's name).
    pub fn origin_of(&self, kind: ListenerKind, network: &str) -> String {
        self.state
            .listeners
            .iter()
            .find(|l| l.kind == kind && l.network() == network)
            .unwrap_or_else(|| panic!("no {kind} listener on the {network} network"))
            .url()
    }

    /// The listener of `kind`, for the test clients (trusting the certificate).
    pub fn endpoint(&self, kind: ListenerKind) -> Endpoint {
        match kind {
            ListenerKind::Plain => Endpoint::from(self.addr),
            ListenerKind::TlsHttp1 => Endpoint::tls(self.tls_http1_addr, &self.certificate),
            ListenerKind::TlsH2 => Endpoint::tls(self.tls_h2_addr, &self.certificate),
            ListenerKind::QuicH3 => panic!("QUIC has no TCP endpoint: use support::h3_client"),
        }
    }

    /// What `GET /api/v1/status` reports (this request counted).
    pub async fn status(&self) -> ServerStatus {
        self.status_via(&self.addr.into()).await
    }

    /// What `GET /api/v1/status` reports, asked on the listener `via`.
    pub async fn status_via(&self, via: &Endpoint) -> ServerStatus {
        let response = via.http().get(via.url(rest::STATUS)).send().await.unwrap();
        response.json().await.unwrap()
    }

    /// Waits up to 2 s for the listeners of `kinds` to count no open connection
    /// (asking on `via`); returns how many they counted at the end.
    pub async fn wait_until_no_open_connections(
        &self,
        kinds: &[ListenerKind],
        via: &Endpoint,
    ) -> u64 {
        let mut open = u64::MAX;
        for _ in 0..200 {
            open = self
                .status_via(via)
                .await
                .listeners
                .iter()
                .filter(|listener| kinds.iter().any(|kind| kind.name() == listener.name))
                .map(|listener| listener.connections_open)
                .sum();
            if open == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        open
    }

    /// The status of the listener of `kind`, as `GET /api/v1/status` reports it (the
    /// request goes to the plain listener).
    pub async fn listener_status(&self, kind: ListenerKind) -> ListenerStatus {
        let status = self.status().await;
        status
            .listeners
            .into_iter()
            .find(|listener| listener.name == kind.name())
            .unwrap_or_else(|| panic!("no {} listener in the status", kind.name()))
    }
}

/// A self-signed certificate for one test server.
fn ephemeral_certificate() -> Arc<Certificate> {
    Arc::new(Certificate::ephemeral().expect("generate a certificate"))
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
