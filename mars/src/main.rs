//! `mars`: one binary for the whole control plane. With no subcommand it runs
//! the all-in-one server.

use clap::Parser;

/// The server allocates and frees a few small buffers per request in every
/// layer (HTTP/2 frames, protobuf, responses); mimalloc makes that markedly
/// cheaper than glibc's allocator under concurrency.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = mars::cli::Cli::parse();
    mars::cli::init_logging();
    mars::cli::run(cli).await
}
