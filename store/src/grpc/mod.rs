//! etcd's v3 gRPC API over the embedded backend: KV, Watch, Lease, Cluster
//! (member list) and Maintenance (status, alarms, defragment), so `etcdctl`
//! and every etcd client library work against Mars unchanged.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status, Streaming};

use crate::pb::etcdserverpb::cluster_server::{Cluster, ClusterServer};
mod authority;

use crate::pb::etcdserverpb::kv_server::{Kv, KvServer};
use crate::pb::etcdserverpb::lease_server::{Lease, LeaseServer};
use crate::pb::etcdserverpb::maintenance_server::{Maintenance, MaintenanceServer};
use crate::pb::etcdserverpb::watch_create_request::FilterType;
use crate::pb::etcdserverpb::watch_request::RequestUnion;
use crate::pb::etcdserverpb::watch_server::{Watch, WatchServer};
use crate::pb::etcdserverpb::*;
use crate::watch::{WatchMessage, WatchSpec};
use crate::{Embedded, StoreError};

/// gRPC framing allowance on top of the request-size limit, as etcd adds.
const GRPC_OVERHEAD_BYTES: usize = 512 * 1024;
/// Watch id etcd uses for responses that concern the whole stream.
const STREAM_WATCH_ID: i64 = -1;

/// Maps a store error to the gRPC status etcd would send.
pub fn status_of(error: StoreError) -> Status {
    use StoreError::*;
    let message = error.to_string();
    match error {
        EmptyKey | KeyNotFound | ValueProvided | LeaseProvided | TooManyOps | DuplicateKey
        | InvalidSortOption | RequestTooLarge => Status::invalid_argument(message),
        Compacted { .. } | FutureRevision | LeaseTtlTooLarge => Status::out_of_range(message),
        LeaseNotFound | NotFound { .. } => Status::not_found(message),
        LeaseExists | AlreadyExists { .. } | Conflict { .. } => {
            Status::failed_precondition(message)
        }
        Unavailable(_) => Status::unavailable(message),
        Backend(_) => Status::internal(message),
    }
}

/// Settings of the gRPC front end.
#[derive(Debug, Clone)]
pub struct GrpcConfig {
    /// How often watchers that asked for `progress_notify` get one (etcd's
    /// default is ten minutes).
    pub progress_notify_interval: Duration,
}

impl Default for GrpcConfig {
    fn default() -> Self {
        Self {
            progress_notify_interval: Duration::from_secs(600),
        }
    }
}

/// The etcd services over one embedded store.
#[derive(Clone)]
pub struct EtcdService {
    store: Embedded,
    config: GrpcConfig,
    /// Set when the server stops: long-lived streams (watch, keep-alive)
    /// end so that graceful shutdown does not wait on them forever.
    stopping: Arc<watch::Sender<bool>>,
}

impl EtcdService {
    pub fn new(store: Embedded, config: GrpcConfig) -> Self {
        Self {
            store,
            config,
            stopping: Arc::new(watch::channel(false).0),
        }
    }

    /// Resolves once the server has begun to stop.
    fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut stopping = self.stopping.subscribe();
        async move {
            let _ = stopping.wait_for(|stopping| *stopping).await;
        }
    }

    /// Serves every etcd service on `listener` until `shutdown` resolves.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), tonic::transport::Error> {
        let max = self.store.limits().max_request_bytes + GRPC_OVERHEAD_BYTES;
        let stopping = self.stopping.clone();
        // tonic ignores the builder's nodelay setting for a caller-supplied
        // listener: set it on the incoming stream, or Nagle's algorithm meets
        // delayed ACKs and every small response waits ~40 ms.
        let incoming = TcpIncoming::from(listener)
            .with_nodelay(Some(true))
            .map(|stream| stream.map(authority::RepairedStream::new));
        tonic::transport::Server::builder()
            .add_service(KvServer::new(self.clone()).max_decoding_message_size(max))
            .add_service(WatchServer::new(self.clone()).max_decoding_message_size(max))
            .add_service(LeaseServer::new(self.clone()).max_decoding_message_size(max))
            .add_service(ClusterServer::new(self.clone()).max_decoding_message_size(max))
            .add_service(MaintenanceServer::new(self).max_decoding_message_size(max))
            .serve_with_incoming_shutdown(incoming, async move {
                shutdown.await;
                stopping.send_replace(true);
            })
            .await
    }
}

type Reply<T> = Result<Response<T>, Status>;
type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl Kv for EtcdService {
    #[tracing::instrument(level = "debug", name = "etcd", skip_all, fields(rpc = "range"))]
    async fn range(&self, request: Request<RangeRequest>) -> Reply<RangeResponse> {
        self.store
            .range(request.get_ref())
            .await
            .map(Response::new)
            .map_err(status_of)
    }

    #[tracing::instrument(level = "debug", name = "etcd", skip_all, fields(rpc = "put"))]
    async fn put(&self, request: Request<PutRequest>) -> Reply<PutResponse> {
        self.store
            .put(request.into_inner())
            .await
            .map(Response::new)
            .map_err(status_of)
    }

    #[tracing::instrument(level = "debug", name = "etcd", skip_all, fields(rpc = "delete_range"))]
    async fn delete_range(
        &self,
        request: Request<DeleteRangeRequest>,
    ) -> Reply<DeleteRangeResponse> {
        self.store
            .delete_range(request.into_inner())
            .await
            .map(Response::new)
            .map_err(status_of)
    }

    #[tracing::instrument(level = "debug", name = "etcd", skip_all, fields(rpc = "txn"))]
    async fn txn(&self, request: Request<TxnRequest>) -> Reply<TxnResponse> {
        self.store
            .txn(request.into_inner())
            .await
            .map(Response::new)
            .map_err(status_of)
    }

    #[tracing::instrument(level = "debug", name = "etcd", skip_all, fields(rpc = "compact"))]
    async fn compact(&self, request: Request<CompactionRequest>) -> Reply<CompactionResponse> {
        let header = self
            .store
            .compact(request.get_ref().revision)
            .await
            .map_err(status_of)?;
        Ok(Response::new(CompactionResponse {
            header: Some(header),
        }))
    }
}

#[tonic::async_trait]
impl Watch for EtcdService {
    #[tracing::instrument(level = "debug", name = "etcd", skip_all, fields(rpc = "watch"))]
    async fn watch(
        &self,
        request: Request<Streaming<WatchRequest>>,
    ) -> Reply<BoxStream<WatchResponse>> {
        let (out, rx) = mpsc::channel(256);
        let session = WatchSession::new(self.store.clone(), out);
        tokio::spawn(session.run(
            request.into_inner(),
            self.config.progress_notify_interval,
            self.stopped(),
        ));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

/// One client's watch stream: many watchers multiplexed by watch id.
struct WatchSession {
    store: Embedded,
    out: mpsc::Sender<Result<WatchResponse, Status>>,
    events_tx: mpsc::UnboundedSender<WatchMessage>,
    events_rx: mpsc::UnboundedReceiver<WatchMessage>,
    /// watch id → (hub id, wants progress notifications)
    watchers: HashMap<i64, (u64, bool)>,
    next_id: i64,
}

impl WatchSession {
    fn new(store: Embedded, out: mpsc::Sender<Result<WatchResponse, Status>>) -> Self {
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        Self {
            store,
            out,
            events_tx,
            events_rx,
            watchers: HashMap::new(),
            next_id: 0,
        }
    }

    async fn run(
        mut self,
        mut inbound: Streaming<WatchRequest>,
        progress_every: Duration,
        stopped: impl Future<Output = ()>,
    ) {
        let mut progress = tokio::time::interval(progress_every);
        progress.tick().await;
        let mut stopped = std::pin::pin!(stopped);
        loop {
            let keep_going = tokio::select! {
                () = &mut stopped => false,
                request = inbound.message() => match request {
                    Ok(Some(request)) => self.handle(request).await,
                    Ok(None) | Err(_) => false,
                },
                Some(message) = self.events_rx.recv() => self.forward(message).await,
                _ = progress.tick() => {
                    let ids: Vec<u64> = self
                        .watchers
                        .values()
                        .filter(|(_, notify)| *notify)
                        .map(|(id, _)| *id)
                        .collect();
                    self.store.request_progress(&ids);
                    true
                }
            };
            if !keep_going {
                break;
            }
        }
        for (hub_id, _) in self.watchers.values() {
            self.store.cancel_watch(*hub_id);
        }
    }

    async fn send(&self, response: WatchResponse) -> bool {
        self.out.send(Ok(response)).await.is_ok()
    }

    async fn forward(&mut self, message: WatchMessage) -> bool {
        self.send(WatchResponse {
            header: Some(self.store.header(message.revision)),
            watch_id: message.tag,
            events: message.events,
            ..WatchResponse::default()
        })
        .await
    }

    async fn handle(&mut self, request: WatchRequest) -> bool {
        match request.request_union {
            Some(RequestUnion::CreateRequest(create)) => self.create(create).await,
            Some(RequestUnion::CancelRequest(cancel)) => {
                match self.watchers.remove(&cancel.watch_id) {
                    Some((hub_id, _)) => {
                        self.store.cancel_watch(hub_id);
                        self.send(WatchResponse {
                            header: Some(self.store.header(self.store.revision())),
                            watch_id: cancel.watch_id,
                            canceled: true,
                            ..WatchResponse::default()
                        })
                        .await
                    }
                    None => true,
                }
            }
            Some(RequestUnion::ProgressRequest(_)) => {
                // Every event up to the revision read here is already queued
                // on `events_tx` (the writer publishes before it releases the
                // state), so the notification cannot overtake one.
                let _ = self.events_tx.send(WatchMessage {
                    tag: STREAM_WATCH_ID,
                    revision: self.store.revision(),
                    events: Vec::new(),
                });
                true
            }
            None => true,
        }
    }

    async fn create(&mut self, create: WatchCreateRequest) -> bool {
        let id = if create.watch_id != 0 {
            create.watch_id
        } else {
            while self.watchers.contains_key(&self.next_id) {
                self.next_id += 1;
            }
            self.next_id
        };
        let header = Some(self.store.header(self.store.revision()));
        if self.watchers.contains_key(&id) {
            return self
                .send(WatchResponse {
                    header,
                    watch_id: id,
                    created: true,
                    canceled: true,
                    cancel_reason: "mvcc: duplicate watch ID provided on the WatchStream".into(),
                    ..WatchResponse::default()
                })
                .await;
        }
        // etcd treats an empty key as "\0", the smallest key.
        let key = if create.key.is_empty() {
            Bytes::from_static(&[0])
        } else {
            create.key.clone()
        };
        let spec = WatchSpec {
            key,
            range_end: create.range_end.clone(),
            start_revision: create.start_revision,
            prev_kv: create.prev_kv,
            no_put: create.filters.contains(&(FilterType::Noput as i32)),
            no_delete: create.filters.contains(&(FilterType::Nodelete as i32)),
            progress_requests: None,
        };
        // The created response must precede the watcher's first events; they
        // wait in `events_rx` until this handler returns.
        let registered = self.store.watch(spec, id, self.events_tx.clone());
        if !self
            .send(WatchResponse {
                header,
                watch_id: id,
                created: true,
                ..WatchResponse::default()
            })
            .await
        {
            return false;
        }
        match registered {
            Ok(hub_id) => {
                self.watchers.insert(id, (hub_id, create.progress_notify));
                if create.watch_id == 0 {
                    self.next_id = id + 1;
                }
                true
            }
            Err(error) => {
                let compact_revision = match &error {
                    StoreError::Compacted { compact_revision } => *compact_revision,
                    _ => 0,
                };
                // etcd leaves the revision out of a refused watch's header.
                self.send(WatchResponse {
                    header: Some(self.store.header(0)),
                    watch_id: id,
                    canceled: true,
                    compact_revision,
                    cancel_reason: error.to_string(),
                    ..WatchResponse::default()
                })
                .await
            }
        }
    }
}

#[tonic::async_trait]
impl Lease for EtcdService {
    #[tracing::instrument(level = "debug", name = "etcd", skip_all, fields(rpc = "lease_grant"))]
    async fn lease_grant(&self, request: Request<LeaseGrantRequest>) -> Reply<LeaseGrantResponse> {
        let request = request.into_inner();
        self.store
            .lease_grant(request.ttl, request.id)
            .await
            .map(Response::new)
            .map_err(status_of)
    }

    #[tracing::instrument(level = "debug", name = "etcd", skip_all, fields(rpc = "lease_revoke"))]
    async fn lease_revoke(
        &self,
        request: Request<LeaseRevokeRequest>,
    ) -> Reply<LeaseRevokeResponse> {
        let header = self
            .store
            .lease_revoke(request.get_ref().id)
            .await
            .map_err(status_of)?;
        Ok(Response::new(LeaseRevokeResponse {
            header: Some(header),
        }))
    }

    async fn lease_keep_alive(
        &self,
        request: Request<Streaming<LeaseKeepAliveRequest>>,
    ) -> Reply<BoxStream<LeaseKeepAliveResponse>> {
        let mut inbound = request.into_inner();
        let store = self.store.clone();
        let stopped = self.stopped();
        let (out, rx) = mpsc::channel(64);
        tokio::spawn(async move {
            let mut stopped = std::pin::pin!(stopped);
            loop {
                let request = tokio::select! {
                    () = &mut stopped => break,
                    request = inbound.message() => match request {
                        Ok(Some(request)) => request,
                        Ok(None) | Err(_) => break,
                    },
                };
                // An expired or unknown lease answers TTL 0, as etcd does.
                let ttl = store.lease_keep_alive(request.id).await.unwrap_or(0);
                let response = LeaseKeepAliveResponse {
                    header: Some(store.header(store.revision())),
                    id: request.id,
                    ttl,
                };
                if out.send(Ok(response)).await.is_err() {
                    break;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    #[tracing::instrument(
        level = "debug",
        name = "etcd",
        skip_all,
        fields(rpc = "lease_time_to_live")
    )]
    async fn lease_time_to_live(
        &self,
        request: Request<LeaseTimeToLiveRequest>,
    ) -> Reply<LeaseTimeToLiveResponse> {
        let request = request.get_ref();
        Ok(Response::new(
            self.store.lease_time_to_live(request.id, request.keys),
        ))
    }

    #[tracing::instrument(level = "debug", name = "etcd", skip_all, fields(rpc = "lease_leases"))]
    async fn lease_leases(&self, _: Request<LeaseLeasesRequest>) -> Reply<LeaseLeasesResponse> {
        Ok(Response::new(LeaseLeasesResponse {
            header: Some(self.store.header(self.store.revision())),
            leases: self
                .store
                .lease_ids()
                .into_iter()
                .map(|id| LeaseStatus { id })
                .collect(),
        }))
    }
}

#[tonic::async_trait]
impl Cluster for EtcdService {
    #[tracing::instrument(level = "debug", name = "etcd", skip_all, fields(rpc = "member_list"))]
    async fn member_list(&self, _: Request<MemberListRequest>) -> Reply<MemberListResponse> {
        // Membership is not versioned by the keyspace: etcd sends no revision.
        Ok(Response::new(MemberListResponse {
            header: Some(self.store.header(0)),
            members: self.store.members(),
        }))
    }
}

#[tonic::async_trait]
impl Maintenance for EtcdService {
    #[tracing::instrument(level = "debug", name = "etcd", skip_all, fields(rpc = "status"))]
    async fn status(&self, _: Request<StatusRequest>) -> Reply<StatusResponse> {
        Ok(Response::new(self.store.status()))
    }

    async fn alarm(&self, _: Request<AlarmRequest>) -> Reply<AlarmResponse> {
        // Mars raises no alarms: there is no space quota to exceed yet.
        Ok(Response::new(AlarmResponse {
            header: Some(self.store.header(self.store.revision())),
            alarms: Vec::new(),
        }))
    }

    async fn defragment(&self, _: Request<DefragmentRequest>) -> Reply<DefragmentResponse> {
        // Compaction already rewrites the snapshot and drops covered log
        // segments; there is nothing left to defragment.
        Ok(Response::new(DefragmentResponse {
            header: Some(self.store.header(self.store.revision())),
        }))
    }
}
