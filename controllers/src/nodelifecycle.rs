//! Placeholder: filled in by its owner.

/// Runs the controller until the future is dropped.
pub async fn run(_client: kube::Client) {
    std::future::pending::<()>().await
}
