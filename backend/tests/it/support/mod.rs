//! What the integration tests share: a real backend on 127.0.0.1:0.

pub mod browser;
pub mod clients;
pub mod load;

use std::net::SocketAddr;
use std::path::PathBuf;

use lab_backend::rest::ServerStatus;
use lab_backend::{AppState, Config, app, serve};
use lab_proto::contract::rest;
use tokio::sync::oneshot;

/// A backend serving on an ephemeral loopback port until dropped.
pub struct TestServer {
    pub addr: SocketAddr,
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

    /// Serves the lab with `config` on `addr` (e.g. the address of a server that was
    /// stopped, to restart it).
    pub async fn with_config_at(config: Config, addr: SocketAddr) -> Self {
        let state = AppState::new(config);
        let listener = serve::bind(addr)
            .await
            .unwrap_or_else(|err| panic!("bind {addr}: {err}"));
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel();
        let router = app(state.clone());
        let limits = state.config.connection.clone();
        tokio::spawn(async move {
            serve::serve(listener, router, &limits, async {
                let _ = rx.await;
            })
            .await
            .expect("test server failed");
        });
        Self {
            addr,
            state,
            shutdown: Some(tx),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// What `GET /api/v1/status` reports (this request counted).
    pub async fn status(&self) -> ServerStatus {
        reqwest::get(self.url(rest::STATUS))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
