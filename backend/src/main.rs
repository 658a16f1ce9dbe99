//! `lab-backend`: serves the lab (UI, REST, gRPC-Web, native gRPC) on a plain listener,
//! two TLS ones (HTTP/1.1 only; HTTP/2) and a QUIC one (HTTP/3), and says on stdout
//! where they are and how to get a browser to accept the certificate (and to speak
//! HTTP/3).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use axum::http::HeaderValue;
use clap::{Parser, Subcommand};
use lab_backend::certificate::{self, Certificate, Provenance};
use lab_backend::link::{Link, LinkProfile};
use lab_backend::local_ca::LocalCa;
use lab_backend::trust_store::{self, Certutil};
use lab_backend::{AppState, BoundListener, Config, ListenerKind, app, serve};
use lab_proto::contract::network;
use tracing_subscriber::EnvFilter;

/// mimalloc: per-request allocations are the server's hottest code after I/O, and it
/// hands freed memory back to the system, so memory after load returns to its level.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The gRPC-Web vs REST lab backend.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Address of the plain listener (HTTP/1.1, and HTTP/2 by prior knowledge).
    #[arg(long, env = "LAB_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Address of the TLS listener that offers only HTTP/1.1 (ALPN `http/1.1`).
    #[arg(long, env = "LAB_TLS_HTTP1_ADDR", default_value = "127.0.0.1:8443")]
    tls_http1_addr: SocketAddr,
    /// Address of the TLS listener that offers HTTP/2 (ALPN `h2`, then `http/1.1`).
    #[arg(long, env = "LAB_TLS_H2_ADDR", default_value = "127.0.0.1:8444")]
    tls_h2_addr: SocketAddr,
    /// Address (UDP) of the QUIC listener serving HTTP/3 (ALPN `h3`), which the HTTP/2
    /// listener advertises in `Alt-Svc`. Default: --tls-h2-addr's, the same port
    /// number over UDP (TCP and UDP ports do not clash), so the same origin.
    #[arg(long, env = "LAB_H3_ADDR")]
    h3_addr: Option<SocketAddr>,
    /// Serve no HTTP/3 (QUIC) listener, and advertise none.
    #[arg(long, env = "LAB_NO_H3")]
    no_h3: bool,
    /// Serve the plain listener only (no TLS, so no HTTP/3 either).
    #[arg(long, env = "LAB_NO_TLS")]
    no_tls: bool,
    /// Where the lab's local CA and the certificate it issued are saved and found again.
    /// Default: $XDG_DATA_HOME/grpc-web-vs-rest-lab, or ~/.local/share/grpc-web-vs-rest-lab.
    #[arg(long, env = "LAB_TLS_DIR", value_name = "DIR", global = true)]
    tls_dir: Option<PathBuf>,
    /// One's own certificate chain (PEM) for the TLS listeners, e.g. from mkcert or a
    /// CA for --public; needs --tls-key.
    #[arg(long, env = "LAB_TLS_CERT", value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, env = "LAB_TLS_KEY", value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Directory of the built frontend (Trunk's output).
    #[arg(long, env = "LAB_STATIC_DIR", default_value = "dist")]
    static_dir: PathBuf,
    /// Allow listening on non-loopback addresses (the lab has no authentication).
    #[arg(long)]
    public: bool,
    /// A name the lab answers to beyond its IP addresses and localhost (what a browser
    /// puts in Host when it opens the lab by that name, e.g. with --public); repeat for
    /// more. Any other name is refused (421), so no site can reach the lab by
    /// rebinding its own name to this machine.
    #[arg(long = "allowed-host", value_name = "NAME")]
    allowed_hosts: Vec<String>,
    /// An origin allowed to call the APIs from another page (CORS); repeat for more.
    /// Default: the dev loop's http://127.0.0.1:8081 and http://localhost:8081.
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    cors_origins: Vec<HeaderValue>,
    /// Record streams produced at once (gRPC and SSE together); more are refused.
    /// Default: 512.
    #[arg(long, value_name = "N")]
    max_streams: Option<usize>,
    /// Connections open at once on each listener; more are closed right after accept.
    /// Default: 1024.
    #[arg(long, value_name = "N")]
    max_connections: Option<usize>,
    /// The emulated networks offered beside loopback (see docs/network-profiles.md),
    /// each on its own listeners, one per HTTP version, at the loopback listeners' ports
    /// plus 100 × its position (1, 2, …): lighthouse-mobile, devtools-slow-4g,
    /// devtools-fast-4g, devtools-3g, intercontinental, or one custom
    /// rtt=100ms,down=8mbit,up=1mbit. Repeat the flag (or separate with `;`);
    /// `--link loopback` offers none. Default: every named profile.
    #[arg(
        long = "link",
        env = "LAB_LINKS",
        value_name = "PROFILE",
        value_delimiter = ';',
        default_values = network::PRESETS
    )]
    links: Vec<String>,
}

/// What the backend does instead of serving.
#[derive(Debug, Subcommand)]
enum Command {
    /// Add the lab's local certificate authority (made once in --tls-dir; it can vouch
    /// for 127.0.0.1, ::1 and localhost only) to this user's browsers: Chromium's NSS
    /// database ~/.pki/nssdb and every Firefox profile's, with NSS's certutil. Then every
    /// https:// listener opens without a warning. Changes nothing else.
    Trust,
    /// Remove the lab's local certificate authority from this user's browsers.
    Untrust,
}

/// Ports of the listeners of the n-th network profile: the loopback ones + 100 × n.
const PROFILE_PORT_STEP: u16 = 100;

impl Cli {
    /// The loopback listeners to serve, with their addresses.
    fn listeners(&self) -> Vec<(ListenerKind, SocketAddr)> {
        let mut listeners = vec![(ListenerKind::Plain, self.addr)];
        if !self.no_tls {
            listeners.push((ListenerKind::TlsHttp1, self.tls_http1_addr));
            listeners.push((ListenerKind::TlsH2, self.tls_h2_addr));
            if !self.no_h3 {
                let addr = self.h3_addr.unwrap_or(self.tls_h2_addr);
                listeners.push((ListenerKind::QuicH3, addr));
            }
        }
        listeners
    }

    /// The network profiles offered beside loopback, in order; each named once, at
    /// most one custom.
    fn profiles(&self) -> Result<Vec<LinkProfile>, String> {
        let mut profiles: Vec<LinkProfile> = Vec::new();
        for text in &self.links {
            let Some(profile) =
                LinkProfile::parse(text).map_err(|err| format!("--link {text}: {err}"))?
            else {
                continue;
            };
            if profiles.iter().any(|p| p.name == profile.name) {
                let custom = if profile.name == network::CUSTOM {
                    " (one custom profile at most)"
                } else {
                    ""
                };
                return Err(format!("--link: {} is offered twice{custom}", profile.name));
            }
            profiles.push(profile);
        }
        Ok(profiles)
    }

    /// Every listener: loopback's, then each profile's on the same ports + 100 × n
    /// (port 0, any free port, stays 0).
    fn all_listeners(
        &self,
        profiles: &[LinkProfile],
    ) -> Result<Vec<(ListenerKind, SocketAddr, Option<LinkProfile>)>, String> {
        let loopback = self.listeners();
        let mut all: Vec<_> = loopback
            .iter()
            .map(|&(kind, addr)| (kind, addr, None))
            .collect();
        for (n, profile) in (1..).zip(profiles) {
            for &(kind, addr) in &loopback {
                let port = match addr.port() {
                    0 => Some(0),
                    port => PROFILE_PORT_STEP
                        .checked_mul(n)
                        .and_then(|step| port.checked_add(step)),
                };
                let port = port.ok_or_else(|| {
                    format!(
                        "no port for the {} network's {kind} listener: {}'s port + {} is over 65535",
                        profile.name,
                        addr,
                        u32::from(PROFILE_PORT_STEP) * u32::from(n)
                    )
                })?;
                all.push((
                    kind,
                    SocketAddr::new(addr.ip(), port),
                    Some(profile.clone()),
                ));
            }
        }
        Ok(all)
    }

    /// The certificate of the TLS listeners: one's own, or the saved (or new) one.
    fn certificate(&self) -> Result<Option<Certificate>, certificate::CertificateError> {
        if self.no_tls {
            return Ok(None);
        }
        let certificate = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Certificate::load(cert, key)?,
            _ => {
                let dir = match &self.tls_dir {
                    Some(dir) => dir.clone(),
                    None => certificate::default_dir()?,
                };
                Certificate::load_or_create(&dir)?
            }
        };
        Ok(Some(certificate))
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("lab_backend=info,tower_http=info")),
        )
        // Logs on stderr; stdout only says where the lab is.
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Some(Command::Trust) => change_trust(&cli, true),
        Some(Command::Untrust) => change_trust(&cli, false),
        None => run(cli).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `trust` (`add`) or `untrust`: the lab's CA into or out of this user's browsers.
fn change_trust(cli: &Cli, add: bool) -> Result<(), String> {
    if cli.tls_cert.is_some() {
        return Err(
            "--tls-cert: your own certificate is not issued by the lab's CA; trust its issuer \
             in your browsers yourself"
                .to_owned(),
        );
    }
    let dir = match &cli.tls_dir {
        Some(dir) => dir.clone(),
        None => certificate::default_dir().map_err(|err| err.to_string())?,
    };
    let certutil = Certutil::find().map_err(|err| err.to_string())?;
    let home = std::env::var_os("HOME")
        .filter(|home| !home.is_empty())
        .ok_or(trust_store::TrustError::NoHome.to_string())?;
    let home = std::path::Path::new(&home);
    let outcomes = if add {
        let (ca, created) = LocalCa::load_or_create(&dir).map_err(|err| err.to_string())?;
        println!("{}", trust_store::trust_preamble(&ca));
        if created {
            println!("trust: created the CA in {}", dir.display());
        }
        trust_store::trust(&certutil, &ca, &LocalCa::cert_path(&dir), home)
    } else {
        trust_store::untrust(&certutil, home)
    };
    let mut failed = 0;
    for outcome in outcomes {
        match outcome {
            Ok(done) => println!("{done}"),
            Err(err) => {
                failed += 1;
                eprintln!("error: {err}");
            }
        }
    }
    match failed {
        0 => Ok(()),
        n => Err(format!(
            "{n} certificate database(s) could not be changed; the others were (see above)"
        )),
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let wanted = cli.listeners();
    let exposed = wanted
        .iter()
        .find(|(_, addr)| !cli.public && !addr.ip().is_loopback());
    if let Some((_, addr)) = exposed {
        return Err(format!(
            "{addr} is not a loopback address; the lab has no authentication, \
             so pass --public to expose it anyway"
        ));
    }
    let profiles = cli.profiles()?;
    let certificate = cli.certificate().map_err(|err| err.to_string())?;
    if !cli.static_dir.join("index.html").is_file() {
        tracing::warn!(
            "{} has no index.html: the APIs work, the UI does not (build it with `cargo xtask demo`)",
            cli.static_dir.display()
        );
    }
    let mut listeners = Vec::new();
    for (kind, addr, profile) in cli.all_listeners(&profiles)? {
        let network = profile.as_ref().map(|p| p.name.clone());
        let listener =
            BoundListener::bind(kind, addr, certificate.as_ref(), profile.map(Link::new))
                .await
                .map_err(|err| match network {
                    None => err.to_string(),
                    Some(network) => format!(
                        "the {network} network's {kind} listener: {err}; the networks' listeners \
                     take the same ports + {PROFILE_PORT_STEP} × n: offer fewer with \
                     --link <profile> (--link loopback: none)"
                    ),
                })?;
        listeners.push(listener);
    }
    advertise_h3(&mut listeners);
    announce(&listeners, certificate.as_ref());

    let mut config = Config::new(cli.static_dir);
    if !cli.cors_origins.is_empty() {
        config.cors_origins = cli.cors_origins;
    }
    config.allowed_hosts = cli.allowed_hosts;
    config.tls_chain_pem = certificate.as_ref().map(|c| c.cert_pem().to_owned());
    if let Some(max) = cli.max_streams {
        config.max_streams = max;
    }
    if let Some(max) = cli.max_connections {
        config.connection.max_connections = max;
    }
    let limits = config.connection.clone();
    let state = AppState::new(config).with_listeners(listeners.iter().map(|l| l.info().clone()));
    serve::serve(listeners, app(state), &limits, serve::shutdown_signal())
        .await
        .map_err(|err| err.to_string())
}

/// Each network's HTTP/2 listener advertises that network's HTTP/3 one (`Alt-Svc`).
fn advertise_h3(listeners: &mut [BoundListener]) {
    let quic: Vec<(String, u16)> = listeners
        .iter()
        .map(BoundListener::info)
        .filter(|info| info.kind == ListenerKind::QuicH3)
        .map(|info| (info.network().to_owned(), info.addr.port()))
        .collect();
    for listener in listeners.iter_mut() {
        let info = listener.info();
        if info.kind != ListenerKind::TlsH2 {
            continue;
        }
        if let Some(&(_, port)) = quic.iter().find(|(network, _)| network == info.network()) {
            listener.advertise_h3(port);
        }
    }
}

/// Says on stdout where each listener is, and how a browser can accept the
/// certificate. The first line is what scripts read ("The lab is at http://ADDR/").
fn announce(listeners: &[BoundListener], certificate: Option<&Certificate>) {
    for listener in listeners.iter().filter(|l| l.info().link.is_none()) {
        let info = listener.info();
        match info.kind {
            ListenerKind::Plain => println!("The lab is at {}/", info.url()),
            ListenerKind::QuicH3 => println!(
                "{} at {}/ (UDP port {}; advertised by the HTTP/2 listener's Alt-Svc)",
                info.kind,
                info.url(),
                info.addr.port()
            ),
            kind => println!("{kind} at {}/", info.url()),
        }
    }
    // Each network's listeners on one line, in the order they were bound.
    let mut networks: Vec<(String, Vec<String>)> = Vec::new();
    for info in listeners.iter().map(BoundListener::info) {
        let Some(link) = &info.link else { continue };
        let profile = link.profile().to_string();
        match networks.iter_mut().find(|(name, _)| *name == profile) {
            Some((_, urls)) => urls.push(info.url()),
            None => networks.push((profile, vec![info.url()])),
        }
    }
    if !networks.is_empty() {
        println!("Emulated networks (chosen on the page; each listener has a link of its own):");
    }
    for (profile, urls) in networks {
        println!("  {profile}: {}", urls.join(" "));
    }
    if let Some(certificate) = certificate {
        let pin = certificate.spki_pin();
        if matches!(certificate.provenance(), Provenance::Given(_)) {
            println!("Browsers open the https:// URLs without a warning if they trust its issuer.");
        } else {
            println!(
                "To open every https:// URL without a warning, trust the lab's CA once: \
                 `cargo xtask trust` (or `lab-backend trust`; `untrust` undoes it)."
            );
        }
        println!(
            "TLS certificate: {}; SPKI pin: {pin}",
            certificate.provenance()
        );
        println!(
            "Without that, Chromium can trust it by its pin: start it with \
             --ignore-certificate-errors-spki-list={pin} --user-data-dir=<a new directory>. \
             Proceeding past the warning instead costs Chromium new HTTP/1.1 connections \
             again and again, which the page flags."
        );
        if let Some(command) = chromium_h3_command(listeners, pin) {
            println!(
                "HTTP/3: browsers use QUIC only with a certificate they trust; to make \
                 Chromium speak HTTP/3 to the lab's QUIC listeners, start it with"
            );
            println!("  {command}");
        }
    }
}

/// The Chromium command line that speaks HTTP/3 to every QUIC listener (forced, with
/// the certificate trusted by its pin) and opens the loopback one; `None` without one.
fn chromium_h3_command(listeners: &[BoundListener], pin: &str) -> Option<String> {
    let quic: Vec<_> = listeners
        .iter()
        .map(BoundListener::info)
        .filter(|info| info.kind == ListenerKind::QuicH3)
        .collect();
    let first = quic
        .iter()
        .find(|info| info.link.is_none())
        .or(quic.first())?;
    let origins: Vec<String> = quic.iter().map(|info| info.addr.to_string()).collect();
    Some(format!(
        "chromium --user-data-dir=$(mktemp -d) --origin-to-force-quic-on={} \
         --ignore-certificate-errors-spki-list={pin} {}/",
        origins.join(","),
        first.url()
    ))
}
