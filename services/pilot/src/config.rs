//! `pilot serve`'s configuration.

use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The NATS server holding the event log (JetStream, version 2.12.1 or newer). Without it,
    /// pilot starts its own nats-server on a free loopback port, keeps its data in
    /// `<data-dir>/nats` and stops it when pilot exits.
    #[arg(long, env = "PILOT_NATS_URL", value_name = "URL")]
    pub nats: Option<String>,

    /// Where the HTTP service listens.
    #[arg(
        long,
        env = "PILOT_LISTEN",
        value_name = "ADDR",
        default_value = "127.0.0.1:8080"
    )]
    pub listen: SocketAddr,

    /// Where the local nats-server keeps its store and its log (used only without --nats).
    #[arg(
        long,
        env = "PILOT_DATA_DIR",
        value_name = "DIR",
        default_value = "./.pilot-data"
    )]
    pub data_dir: PathBuf,

    /// Load the Nanguo history (deploy/demo/nanguo.jsonl) into an empty log before serving.
    #[arg(long)]
    pub demo: bool,

    /// The projector's durable consumer and checkpoint name; give each pilot process that
    /// shares a NATS server its own.
    #[arg(
        long,
        env = "PILOT_CONSUMER",
        value_name = "NAME",
        default_value = pilot_store::follow::DEFAULT_CONSUMER
    )]
    pub consumer: String,
}

