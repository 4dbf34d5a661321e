//! Raft between machines over gRPC: one unary method, `Raft/Call`, carries
//! each postcard-encoded [`Rpc`] and its [`RpcReply`]. Peers keep one HTTP/2
//! connection each, opened on first use and again after a failure.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint};
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

/// Calls peers over gRPC.
#[derive(Default)]
pub struct GrpcTransport {
    channels: Mutex<HashMap<String, Channel>>,
}

impl GrpcTransport {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    async fn channel(&self, addr: &str) -> Result<Channel, String> {
        if let Some(channel) = self.channels.lock().get(addr) {
            return Ok(channel.clone());
        }
        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|e| e.to_string())?
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

/// Serves this member's Raft RPCs on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    handler: Arc<dyn Handler>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let service = RaftServer::new(Service { handler })
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .add_service(service)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}

/// Binds the Raft listener (so a taken port fails at start, clearly).
pub async fn bind(addr: &str) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}
