//! Raft between machines over gRPC: one unary method, `Raft/Call`, carries
//! each postcard-encoded [`Rpc`] and its [`RpcReply`]. Peers keep one HTTP/2
//! connection each, opened on first use and again after a failure. With
//! [`PeerTls`], members speak mutual TLS, as etcd's `--peer-*` flags do.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{
    Certificate, Channel, ClientTlsConfig, Endpoint, Identity, ServerTlsConfig,
};
use tonic::{Request, Response, Status};

use super::NodeId;
use super::transport::{Handler, Rpc, RpcReply, Transport, Unanswered};
use crate::pb::marspb::RaftMessage;
use crate::pb::marspb::raft_client::RaftClient;
use crate::pb::marspb::raft_server::{Raft, RaftServer};

/// Largest Raft message: a batch of entries or a snapshot chunk.
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// A peer that takes longer than this to answer one message is treated as
/// unreachable (snapshot chunks included).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Mutual TLS between members: each presents a certificate signed by the
/// cluster's CA, and accepts only peers that do. A member's certificate
/// must name the host of its Raft address (IP or DNS) and allow both
/// server and client authentication.
#[derive(Clone)]
pub struct PeerTls {
    ca: Certificate,
    identity: Identity,
}

/// Why the TLS files could not be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {path}: {source}")]
pub struct TlsFileError {
    path: String,
    source: std::io::Error,
}

impl PeerTls {
    /// Reads PEM files: the CA that signs every member's certificate, and
    /// this member's certificate and key.
    pub fn load(ca: &Path, cert: &Path, key: &Path) -> Result<Self, TlsFileError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| TlsFileError {
                path: path.display().to_string(),
                source,
            })
        };
        Ok(Self {
            ca: Certificate::from_pem(read(ca)?),
            identity: Identity::from_pem(read(cert)?, read(key)?),
        })
    }
}

/// Calls peers over gRPC.
#[derive(Default)]
pub struct GrpcTransport {
    channels: Mutex<HashMap<String, Channel>>,
    tls: Option<PeerTls>,
}

impl GrpcTransport {
    pub fn new(tls: Option<PeerTls>) -> Arc<Self> {
        Arc::new(Self {
            channels: Mutex::default(),
            tls,
        })
    }

    async fn channel(&self, addr: &str) -> Result<Channel, String> {
        if let Some(channel) = self.channels.lock().get(addr) {
            return Ok(channel.clone());
        }
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let mut endpoint =
            Endpoint::from_shared(format!("{scheme}://{addr}")).map_err(|e| e.to_string())?;
        if let Some(tls) = &self.tls {
            let config = ClientTlsConfig::new()
                .ca_certificate(tls.ca.clone())
                .identity(tls.identity.clone());
            endpoint = endpoint.tls_config(config).map_err(|e| e.to_string())?;
        }
        let channel = endpoint
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(CALL_TIMEOUT)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(5))
            .connect()
            .await
            .map_err(|e| format!("{e}: {}", source_chain(&e)))?;
        self.channels
            .lock()
            .insert(addr.to_string(), channel.clone());
        Ok(channel)
    }
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut out = Vec::new();
    let mut source = e.source();
    while let Some(s) = source {
        out.push(s.to_string());
        source = s.source();
    }
    out.join(": ")
}

#[async_trait]
impl Transport for GrpcTransport {
    async fn call(&self, to: NodeId, addr: &str, rpc: Rpc) -> Result<RpcReply, Unanswered> {
        let failed = |reason: String, sent: bool| Unanswered {
            to,
            addr: addr.to_string(),
            reason,
            sent,
        };
        let payload = postcard::to_allocvec(&rpc).map_err(|e| failed(e.to_string(), false))?;
        // Not connected: the request certainly did not leave.
        let channel = self.channel(addr).await.map_err(|e| failed(e, false))?;
        let mut client = RaftClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        let reply = match client
            .call(RaftMessage {
                payload: payload.into(),
            })
            .await
        {
            Ok(reply) => reply.into_inner(),
            Err(status) => {
                // Reconnect next time; the peer may have restarted.
                self.channels.lock().remove(addr);
                return Err(failed(status.message().to_string(), true));
            }
        };
        postcard::from_bytes(&reply.payload)
            .map_err(|e| failed(format!("undecodable reply: {e}"), true))
    }
}

/// The server side: hands each message to this member's handler.
struct Service {
    handler: Arc<dyn Handler>,
}

#[tonic::async_trait]
impl Raft for Service {
    async fn call(&self, request: Request<RaftMessage>) -> Result<Response<RaftMessage>, Status> {
        let rpc: Rpc = postcard::from_bytes(&request.get_ref().payload)
            .map_err(|e| Status::invalid_argument(format!("undecodable Raft message: {e}")))?;
        let reply = self.handler.handle(rpc).await;
        let payload = postcard::to_allocvec(&reply)
            .map_err(|e| Status::internal(format!("cannot encode the reply: {e}")))?;
        Ok(Response::new(RaftMessage {
            payload: payload.into(),
        }))
    }
}

/// Serves this member's Raft RPCs on `listener` until `shutdown` resolves;
/// with `tls`, only to peers whose certificate the cluster's CA signed.
pub async fn serve(
    listener: TcpListener,
    handler: Arc<dyn Handler>,
    tls: Option<PeerTls>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let service = RaftServer::new(Service { handler })
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let mut server = tonic::transport::Server::builder();
    if let Some(tls) = tls {
        server = server.tls_config(
            ServerTlsConfig::new()
                .identity(tls.identity)
                .client_ca_root(tls.ca),
        )?;
    }
    server
        .add_service(service)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}
