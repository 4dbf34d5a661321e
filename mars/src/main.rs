//! `mars`: one binary for the whole control plane. With no subcommand it runs
//! the all-in-one server.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = mars::cli::Cli::parse();
    mars::cli::init_logging();
    mars::cli::run(cli).await
}
