//! A hub and the office sites connected to it as leaf nodes, each with its own JetStream
//! domain, as docs/sites.md lays them out.

use std::net::SocketAddr;

use crate::server::NatsServer;
use crate::{nats_server_binary, Result};

/// The hub: one server with JetStream domain `domain` that accepts leaf nodes. It does not
/// advertise its leafnode address, so a site reaches it only through the address it was given
/// (a test's proxy), never around it.
#[derive(Debug)]
pub struct LeafHub {
    pub server: NatsServer,
    leaf_port: u16,
}

impl LeafHub {
    /// Starts the hub and waits until it accepts clients.
    pub fn start(domain: &str) -> Result<Self> {
        let (server, ports) = NatsServer::start_on_ports(nats_server_binary()?, 1, |ports| {
            Some(format!(
                "jetstream {{ domain: {domain} }}\nleafnodes {{ listen: \"127.0.0.1:{}\", no_advertise: true }}\n",
                ports[0]
            ))
        })?;
        Ok(LeafHub {
            server,
            leaf_port: ports[0],
        })
    }

    /// Where leaf nodes connect.
    pub fn leaf_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.leaf_port))
    }
}

/// Starts an office site: JetStream domain `domain`, a leaf node of the hub at `hub` (its
/// leafnode address, or a proxy in front of it), redialling every 100 ms while the link is
/// down. Subjects matching `local_only` never cross the link in either direction: the site's
/// events reach the hub only through the stream sourcing them, never as plain messages that
/// the hub's own stream would store a second time.
pub fn start_site(domain: &str, hub: SocketAddr, local_only: &[&str]) -> Result<NatsServer> {
    let deny = local_only
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let config = format!(
        "jetstream {{ domain: {domain} }}\n\
         leafnodes {{\n  reconnect_delay: \"100ms\"\n  remotes [ {{\n    url: \"nats-leaf://{hub}\"\n    deny_exports: [{deny}]\n    deny_imports: [{deny}]\n  }} ]\n}}\n"
    );
    NatsServer::start_on_ports(nats_server_binary()?, 0, |_| Some(config.clone()))
        .map(|(server, _)| server)
}
