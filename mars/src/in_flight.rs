//! A bound on the requests one API client has in flight, as client-go's
//! rate limiter bounds kube-controller-manager's: without it, a hundred
//! ReplicaSets each creating a batch of pods at once put thousands of
//! requests (and, over HTTP/1.1, thousands of TLS connections) on the API
//! server, and every other client's requests queue behind them. Watches
//! are not counted: they stay open for as long as they run.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Request;
use tokio::sync::Semaphore;
use tower::{Layer, Service};

/// Wraps a client's service so at most `limit` requests other than watches
/// are in flight; the others wait their turn, first come first served.
#[derive(Clone)]
pub struct InFlightLimit {
    permits: Arc<Semaphore>,
}

impl InFlightLimit {
    pub fn new(limit: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limit.max(1))),
        }
    }
}

impl<S> Layer<S> for InFlightLimit {
    type Service = Limited<S>;

    fn layer(&self, inner: S) -> Limited<S> {
        Limited {
            inner,
            permits: self.permits.clone(),
        }
    }
}

/// The service [`InFlightLimit`] makes.
pub struct Limited<S> {
    inner: S,
    permits: Arc<Semaphore>,
}

impl<S, B> Service<Request<B>> for Limited<S>
where
    S: Service<Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let watch = is_watch(request.uri());
        // The inner future does nothing until polled (hyper's client
        // connects and sends on first poll), so making it now and polling
        // it once a permit is held keeps the request waiting here.
        let response = self.inner.call(request);
        let permits = self.permits.clone();
        Box::pin(async move {
            let _permit = if watch {
                None
            } else {
                permits.acquire_owned().await.ok()
            };
            response.await
        })
    }
}

fn is_watch(uri: &http::Uri) -> bool {
    uri.query().is_some_and(|query| {
        query
            .split('&')
            .any(|pair| matches!(pair, "watch=true" | "watch=1"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watches_are_told_apart_by_their_query() {
        let uri = |s: &str| s.parse::<http::Uri>().unwrap();
        assert!(is_watch(&uri("/api/v1/pods?watch=true&resourceVersion=5")));
        assert!(is_watch(&uri(
            "/api/v1/pods?allowWatchBookmarks=true&watch=1"
        )));
        assert!(!is_watch(&uri("/api/v1/pods?watch=false")));
        assert!(!is_watch(&uri("/api/v1/pods?limit=500")));
        assert!(!is_watch(&uri("/api/v1/namespaces/watch=true/pods")));
    }

    #[tokio::test]
    async fn requests_beyond_the_limit_wait_and_watches_do_not() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (r, p) = (running.clone(), peak.clone());
        let inner = tower::service_fn(move |_request: Request<()>| {
            let (r, p) = (r.clone(), p.clone());
            async move {
                let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                r.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, std::convert::Infallible>(())
            }
        });
        let mut service = InFlightLimit::new(3).layer(inner);
        let calls: Vec<_> = (0..12)
            .map(|i| {
                let path = if i < 2 {
                    "/api/v1/pods?watch=true"
                } else {
                    "/api/v1/pods"
                };
                service.call(Request::get(path).body(()).unwrap())
            })
            .collect();
        futures::future::join_all(calls).await;
        // Three requests and the two watches at most.
        assert_eq!(peak.load(Ordering::SeqCst), 5);
    }
}
