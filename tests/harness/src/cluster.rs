//! N nats-servers routed into one JetStream cluster named `pilot`.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::server::{free_ports, POLL, PORT_ATTEMPTS};
use crate::{HarnessError, NatsServer, Result, ServerOptions};

const FORM_TIMEOUT: Duration = Duration::from_secs(20);

/// A cluster of nats-servers named `n1`, `n2`, ... (node index 0 is `n1`).
///
/// Each node has its own client port, cluster port, monitoring port and store directory
/// (passed with `-sd`, like a single server), and a generated config with `http: PORT` and a
/// `cluster { name: pilot, routes: [...] }` block listing the others.
#[derive(Debug)]
pub struct NatsCluster {
    nodes: Vec<NatsServer>,
    monitor_ports: Vec<u16>,
}

impl NatsCluster {
    /// Starts `size` nodes and waits (up to 20 s) until the cluster has formed.
    pub fn start(size: usize) -> Result<Self> {
        Self::start_with(size, ServerOptions::default())
    }

    /// Like [`NatsCluster::start`]; `options.config` is appended to every node's config and
    /// `options.binary` runs on every node.
    ///
    /// Formed means: every node accepts clients, its `/routez` lists routes to every other
    /// node, and its `/healthz` answers 200 (JetStream is current with a meta leader).
    pub fn start_with(size: usize, options: ServerOptions) -> Result<Self> {
        if size == 0 {
            return Err(HarnessError::EmptyCluster);
        }
        let binary = options.resolve_binary()?;
        let mut attempt = 1;
        loop {
            let mut cluster = Self::launch(size, &binary, options.config.as_deref())?;
            match cluster.wait_formed(0..size, FORM_TIMEOUT) {
                Err(e) if attempt < PORT_ATTEMPTS && e.is_port_clash() => attempt += 1,
                other => return other.map(|()| cluster),
            }
        }
    }

    fn launch(size: usize, binary: &std::path::Path, extra: Option<&str>) -> Result<Self> {
        let ports = free_ports(3 * size)?;
        let (client, rest) = ports.split_at(size);
        let (route, monitor) = rest.split_at(size);
        let mut nodes = Vec::with_capacity(size);
        for i in 0..size {
            let mut node =
                NatsServer::prepare(binary.to_path_buf(), client[i], format!("n{}", i + 1))?;
            let routes: Vec<String> = (0..size)
                .filter(|&j| j != i)
                .map(|j| format!("    \"nats-route://127.0.0.1:{}\"", route[j]))
                .collect();
            let config = format!(
                "http: \"127.0.0.1:{http}\"\n\
                 cluster {{\n    name: pilot\n    listen: \"127.0.0.1:{listen}\"\n    routes: [\n{routes}\n    ]\n}}\n\
                 {extra}\n",
                http = monitor[i],
                listen = route[i],
                routes = routes.join("\n"),
                extra = extra.unwrap_or(""),
            );
            node.write_config(&config)?;
            node.launch()?;
            nodes.push(node);
        }
        Ok(Self {
            nodes,
            monitor_ports: monitor.to_vec(),
        })
    }

    /// Waits until the nodes in `which` accept clients, see routes to every other running
    /// node, and report healthy.
    fn wait_formed(
        &mut self,
        which: impl Iterator<Item = usize> + Clone,
        timeout: Duration,
    ) -> Result<()> {
        let deadline = Instant::now() + timeout;
        for i in which.clone() {
            let left = deadline.saturating_duration_since(Instant::now());
            self.nodes[i].wait_ready(left)?;
        }
        loop {
            for i in which.clone() {
                self.nodes[i].check_alive()?;
            }
            let running: BTreeSet<String> = self
                .nodes
                .iter_mut()
                .filter_map(|n| n.is_running().then(|| n.name().to_owned()))
                .collect();
            let pending = which
                .clone()
                .find_map(|i| self.not_formed(i, &running).map(|why| (i, why)));
            let Some((i, why)) = pending else {
                return Ok(());
            };
            if Instant::now() >= deadline {
                let log_tail = self.nodes[i].log_tail();
                return Err(HarnessError::ClusterNotFormed {
                    waited: timeout,
                    detail: format!(
                        "{why}\n--- log tail of {} ---\n{log_tail}",
                        self.nodes[i].name()
                    ),
                });
            }
            sleep(POLL);
        }
    }

    /// Why node `i` is not formed yet, or `None` if it is.
    fn not_formed(&self, i: usize, running: &BTreeSet<String>) -> Option<String> {
        let name = self.nodes[i].name();
        let port = self.monitor_ports[i];
        let peers = match http_get(port, "/routez") {
            Ok((200, body)) => route_peers(&body),
            Ok((status, _)) => return Some(format!("{name}: GET /routez answered {status}")),
            Err(e) => return Some(format!("{name}: GET /routez failed: {e}")),
        };
        let missing: Vec<&String> = running
            .iter()
            .filter(|&peer| peer != name && !peers.contains(peer))
            .collect();
        if !missing.is_empty() {
            return Some(format!(
                "{name} has no route to {missing:?} (routes to {peers:?})"
            ));
        }
        match http_get(port, "/healthz") {
            Ok((200, _)) => None,
            Ok((status, body)) => Some(format!(
                "{name}: /healthz answered {status}: {}",
                body.trim()
            )),
            Err(e) => Some(format!("{name}: GET /healthz failed: {e}")),
        }
    }

    fn index(&self, index: usize) -> Result<usize> {
        if index < self.nodes.len() {
            Ok(index)
        } else {
            Err(HarnessError::NoSuchNode {
                index,
                len: self.nodes.len(),
            })
        }
    }

    /// Node `index` (0-based; node 0 is `n1`).
    pub fn node(&self, index: usize) -> Result<&NatsServer> {
        Ok(&self.nodes[self.index(index)?])
    }

    /// All nodes, in order.
    pub fn nodes(&self) -> &[NatsServer] {
        &self.nodes
    }

    /// The client URLs of all nodes, comma-separated (`nats://127.0.0.1:P1,nats://...`).
    /// async-nats does not split this string: pass [`NatsCluster::url_list`] to it instead.
    pub fn urls(&self) -> String {
        self.url_list().join(",")
    }

    /// The client URLs of all nodes.
    pub fn url_list(&self) -> Vec<String> {
        self.nodes.iter().map(NatsServer::url).collect()
    }

    /// The monitoring port (`http://127.0.0.1:PORT/varz`, `/jsz`, ...) of node `index`.
    pub fn monitor_port(&self, index: usize) -> Result<u16> {
        Ok(self.monitor_ports[self.index(index)?])
    }

    /// SIGKILLs node `index` (see [`NatsServer::kill9`]).
    pub fn kill9(&mut self, index: usize) -> Result<()> {
        let i = self.index(index)?;
        self.nodes[i].kill9();
        Ok(())
    }

    /// Hangs node `index` with SIGSTOP (see [`NatsServer::pause`]).
    pub fn pause(&mut self, index: usize) -> Result<()> {
        let i = self.index(index)?;
        self.nodes[i].pause();
        Ok(())
    }

    /// Wakes a paused node `index` with SIGCONT and waits (up to 20 s) until it is back in
    /// the cluster.
    pub fn resume(&mut self, index: usize) -> Result<()> {
        let i = self.index(index)?;
        self.nodes[i].resume();
        self.wait_formed(std::iter::once(i), FORM_TIMEOUT)
    }

    /// The index of the node named `name` (`n1` is 0), if there is one.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name() == name)
    }

    /// Stops node `index` with SIGTERM (see [`NatsServer::stop`]).
    pub fn stop(&mut self, index: usize) -> Result<()> {
        let i = self.index(index)?;
        self.nodes[i].stop();
        Ok(())
    }

    /// Restarts node `index` on its ports and store, and waits (up to 20 s) until it is back
    /// in the cluster: routes to every running node and `/healthz` 200 (caught up).
    pub fn restart(&mut self, index: usize) -> Result<()> {
        let i = self.index(index)?;
        self.nodes[i].restart()?;
        self.wait_formed(std::iter::once(i), FORM_TIMEOUT)
    }
}

/// The distinct `remote_name`s in a `/routez` body (a pooled route appears several times).
fn route_peers(body: &str) -> BTreeSet<String> {
    let json: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    json["routes"]
        .as_array()
        .map(|routes| {
            routes
                .iter()
                .filter_map(|r| r["remote_name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A minimal HTTP/1.0 GET on the loopback: `(status, body)`.
fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    Ok((status, body.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_peers_are_distinct_names() {
        let body = r#"{"num_routes":3,"routes":[{"remote_name":"n2"},{"remote_name":"n2"},{"remote_name":"n3"}]}"#;
        let peers = route_peers(body);
        assert_eq!(peers.into_iter().collect::<Vec<_>>(), ["n2", "n3"]);
        assert!(route_peers("not json").is_empty());
    }
}
