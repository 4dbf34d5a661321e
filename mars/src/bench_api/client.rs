//! The benchmark's HTTP side: clients built from a kubeconfig, requests
//! answered as a status and a whole body, and watch streams read one line at
//! a time. Two transports:
//!
//! - kube-rs (the default): `kube::Client`, so any authentication kube-rs
//!   understands works. It speaks HTTP/1.1 over a pool that opens one
//!   connection per request in flight, and its requests pass through one
//!   `tower::Buffer` worker; several clients (`lanes`) spread that work.
//! - HTTP/2, as client-go speaks it: `lanes` TLS connections, each
//!   multiplexing its share of the requests. Client certificates and bearer
//!   tokens only (`--transport auto` picks it when the kubeconfig allows).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail, ensure};
use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use kube::client::ConfigExt;
use kube::config::{KubeConfigOptions, Kubeconfig};
use secrecy::ExposeSecret;

/// Clients of one API server.
pub struct Api {
    transport: Transport,
    /// The server's URL, for the report.
    pub url: String,
}

enum Transport {
    Kube(Vec<kube::Client>),
    Http2(Http2),
}

/// Which transport to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Choice {
    /// HTTP/2 when the kubeconfig's server and user allow it, else kube-rs.
    Auto,
    Http2,
    Kube,
}

/// A status and the whole response body.
pub struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
}

type AnyBody = UnsyncBoxBody<Bytes, anyhow::Error>;

impl Api {
    /// Reads `path` (its current context unless `context` is given) and
    /// opens `lanes` independent clients (HTTP/2: connections).
    pub async fn from_kubeconfig(
        path: &Path,
        context: Option<&str>,
        lanes: usize,
        choice: Choice,
    ) -> anyhow::Result<Self> {
        let kubeconfig = Kubeconfig::read_from(path)
            .with_context(|| format!("cannot read the kubeconfig {}", path.display()))?;
        let options = KubeConfigOptions {
            context: context.map(str::to_owned),
            ..KubeConfigOptions::default()
        };
        let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .with_context(|| format!("cannot use the kubeconfig {}", path.display()))?;
        // Retries would hide errors and inflate latencies.
        config.default_retry = false;
        let url = config.cluster_url.to_string();
        let lanes = lanes.max(1);
        let http2 = match choice {
            Choice::Http2 => true,
            Choice::Kube => false,
            Choice::Auto => Http2::supports(&config).is_ok(),
        };
        let transport = if http2 {
            Transport::Http2(Http2::connect(&config, lanes).await?)
        } else {
            Transport::Kube(
                (0..lanes)
                    .map(|_| kube::Client::try_from(config.clone()))
                    .collect::<Result<Vec<_>, _>>()
                    .context("cannot build a Kubernetes client")?,
            )
        };
        Ok(Self { transport, url })
    }

    /// Whether requests go over HTTP/2.
    pub fn http2(&self) -> bool {
        matches!(self.transport, Transport::Http2(_))
    }

    /// Sends one request on `lane`; the answer's body is still to be read.
    async fn call(
        &self,
        lane: usize,
        method: Method,
        uri: &str,
        body: Option<Vec<u8>>,
    ) -> anyhow::Result<Response<AnyBody>> {
        let builder = Request::builder()
            .method(method)
            .header(header::ACCEPT, "application/json");
        let builder = match &body {
            Some(_) => builder.header(header::CONTENT_TYPE, "application/json"),
            None => builder,
        };
        match &self.transport {
            Transport::Kube(clients) => {
                let body = body.map_or_else(kube::client::Body::empty, kube::client::Body::from);
                let request = builder
                    .uri(uri)
                    .body(body)
                    .with_context(|| format!("bad request URI {uri:?}"))?;
                let response = clients[lane % clients.len()].send(request).await?;
                Ok(response.map(|body| body.map_err(anyhow::Error::from).boxed_unsync()))
            }
            Transport::Http2(http2) => http2.send(lane, builder, uri, body).await,
        }
    }

    /// Sends one request on `lane` and reads the whole answer.
    pub async fn send(
        &self,
        lane: usize,
        method: Method,
        uri: &str,
        body: Option<Vec<u8>>,
    ) -> anyhow::Result<Reply> {
        let response = self.call(lane, method, uri, body).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Reply { status, body })
    }

    /// Like [`Api::send`], but any status other than `ok` is an error that
    /// quotes the server's message.
    pub async fn expect(
        &self,
        lane: usize,
        method: Method,
        uri: &str,
        body: Option<Vec<u8>>,
        ok: StatusCode,
    ) -> anyhow::Result<Bytes> {
        let reply = self.send(lane, method.clone(), uri, body).await?;
        if reply.status != ok {
            bail!("{}", failure(&method, uri, &reply));
        }
        Ok(reply.body)
    }

    /// Starts a watch (or any streamed GET) on `lane`; returns once the
    /// server has answered 200 with its headers.
    pub async fn stream(&self, lane: usize, uri: &str) -> anyhow::Result<Lines> {
        let response = self.call(lane, Method::GET, uri, None).await?;
        let status = response.status();
        if status != StatusCode::OK {
            let body = response.into_body().collect().await?.to_bytes();
            bail!("{}", failure(&Method::GET, uri, &Reply { status, body }));
        }
        Ok(Lines {
            body: response.into_body(),
            buffer: BytesMut::new(),
        })
    }
}

/// HTTP/2 connections to the API server.
struct Http2 {
    /// `https://host:port`, what request paths are appended to.
    base: String,
    authorization: Option<HeaderValue>,
    senders: Vec<SendRequest<Full<Bytes>>>,
}

impl Http2 {
    /// Whether this transport can serve `config`: HTTPS, and a client
    /// certificate or a bearer token (or nothing) as the user's credentials.
    fn supports(config: &kube::Config) -> anyhow::Result<()> {
        let auth = &config.auth_info;
        ensure!(
            auth.exec.is_none() && auth.auth_provider.is_none() && auth.username.is_none(),
            "--transport http2 supports client certificates and bearer tokens only; use --transport kube for this kubeconfig's user"
        );
        ensure!(
            config.cluster_url.scheme_str() == Some("https"),
            "--transport http2 needs an https:// server, not {}",
            config.cluster_url
        );
        Ok(())
    }

    async fn connect(config: &kube::Config, connections: usize) -> anyhow::Result<Self> {
        Self::supports(config)?;
        let auth = &config.auth_info;
        let token = match (&auth.token, &auth.token_file) {
            (Some(token), _) => Some(token.expose_secret().trim().to_owned()),
            (None, Some(file)) => Some(
                std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read the token file {file}"))?
                    .trim()
                    .to_owned(),
            ),
            (None, None) => None,
        };
        let authorization = token
            .map(|token| HeaderValue::from_str(&format!("Bearer {token}")))
            .transpose()
            .context("the bearer token is not a valid header value")?;

        let mut tls = config
            .rustls_client_config()
            .context("cannot build the TLS configuration")?;
        tls.alpn_protocols = vec![b"h2".to_vec()];
        let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));
        let url = &config.cluster_url;
        let host = url
            .host()
            .context("the server URL has no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = url.port_u16().unwrap_or(443);
        let name = config
            .tls_server_name
            .clone()
            .unwrap_or_else(|| host.clone());
        let server_name = rustls_pki_types::ServerName::try_from(name.clone())
            .with_context(|| format!("{name:?} is not a valid TLS server name"))?;

        let mut senders = Vec::with_capacity(connections);
        for _ in 0..connections {
            let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
                .await
                .with_context(|| format!("cannot connect to {host}:{port}"))?;
            tcp.set_nodelay(true)?;
            let tls = connector
                .connect(server_name.clone(), tcp)
                .await
                .context("TLS handshake failed")?;
            ensure!(
                tls.get_ref().1.alpn_protocol() == Some(b"h2"),
                "the server did not agree to HTTP/2"
            );
            let (sender, connection) =
                hyper::client::conn::http2::Builder::new(TokioExecutor::new())
                    .initial_stream_window_size(4 << 20)
                    .initial_connection_window_size(16 << 20)
                    .handshake(TokioIo::new(tls))
                    .await
                    .context("HTTP/2 handshake failed")?;
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%error, "HTTP/2 connection ended");
                }
            });
            senders.push(sender);
        }
        let base = match url.port_u16() {
            Some(port) => format!("https://{}:{port}", url.host().unwrap_or_default()),
            None => format!("https://{}", url.host().unwrap_or_default()),
        };
        Ok(Self {
            base,
            authorization,
            senders,
        })
    }

    async fn send(
        &self,
        lane: usize,
        builder: http::request::Builder,
        uri: &str,
        body: Option<Vec<u8>>,
    ) -> anyhow::Result<Response<AnyBody>> {
        let mut sender = self.senders[lane % self.senders.len()].clone();
        let builder = match &self.authorization {
            Some(value) => builder.header(header::AUTHORIZATION, value.clone()),
            None => builder,
        };
        let request = builder
            .uri(format!("{}{uri}", self.base))
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .with_context(|| format!("bad request URI {uri:?}"))?;
        sender
            .ready()
            .await
            .context("the HTTP/2 connection is gone")?;
        let response = sender.send_request(request).await?;
        Ok(response.map(|body| body.map_err(anyhow::Error::from).boxed_unsync()))
    }
}

/// `POST /api/v1/...: 409 Conflict: configmaps "x" already exists`.
pub fn failure(method: &Method, uri: &str, reply: &Reply) -> String {
    let message = serde_json::from_slice::<serde_json::Value>(&reply.body)
        .ok()
        .and_then(|status| status["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(&reply.body);
            text.chars().take(200).collect()
        });
    format!("{method} {uri}: {}: {message}", reply.status)
}

/// A streamed response body, one newline-terminated line at a time.
pub struct Lines {
    body: AnyBody,
    buffer: BytesMut,
}

impl Lines {
    /// The next whole line (without its newline), or `None` at the end.
    pub async fn next(&mut self) -> anyhow::Result<Option<Bytes>> {
        loop {
            if let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
                let line = self.buffer.split_to(end + 1).freeze();
                return Ok(Some(line.slice(..end)));
            }
            match self.body.frame().await {
                None if self.buffer.is_empty() => return Ok(None),
                None => return Ok(Some(self.buffer.split().freeze())),
                Some(frame) => {
                    if let Ok(data) = frame.context("the stream failed")?.into_data() {
                        self.buffer.extend_from_slice(&data);
                    }
                }
            }
        }
    }
}
