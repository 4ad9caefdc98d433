#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]
//! Every nats-server configuration under `deploy/nats` is one the pinned nats-server accepts
//! (`nats-server -t -c FILE`), as an operator would install it: the TLS files it names exist
//! (made here, under a private CA) and the role passwords of `users.conf` are in the
//! environment. Cheap: nothing is started, each check is one short process.

use pilot_nats_harness::{nats_server_binary, workspace_root};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the configurations expect their certificates and keys once installed.
const INSTALLED_TLS_DIR: &str = "/etc/pilot-tracker/tls/";

/// Copies `from` into `to`, folders included; returns the `.conf` files copied.
fn copy_tree(from: &Path, to: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(to).unwrap();
    let mut confs = Vec::new();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            confs.extend(copy_tree(&entry.path(), &target));
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
            if target.extension().is_some_and(|e| e == "conf") {
                confs.push(target);
            }
        }
    }
    confs
}

/// The file names a configuration gives under [`INSTALLED_TLS_DIR`], comments included.
fn tls_files(text: &str) -> Vec<String> {
    text.match_indices(INSTALLED_TLS_DIR)
        .map(|(at, _)| {
            text[at + INSTALLED_TLS_DIR.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                .collect()
        })
        .collect()
}

/// The `$PILOT_...` variables a configuration reads.
fn variables(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
        .filter_map(|word| word.strip_prefix('$'))
        .filter(|name| name.starts_with("PILOT_"))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_deploy_nats_config_passes_nats_server_t() {
    let binary = match nats_server_binary() {
        Ok(binary) if binary.is_file() => binary,
        Ok(binary) => {
            println!("skipped: no nats-server at {}", binary.display());
            return;
        }
        Err(error) => {
            println!("skipped: {error}");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let nats = dir.path().join("nats");
    let tls = dir.path().join("tls");
    std::fs::create_dir_all(&tls).unwrap();
    let confs = copy_tree(&workspace_root().join("deploy/nats"), &nats);

    // One CA, and one key and certificate (for every node name) that every cert_file and
    // key_file stands for; ca*.crt files get the CA.
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "pilot-tracker deploy test CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let names = ["n1", "n2", "n3"].map(|n| format!("{n}.example.org"));
    let node = CertificateParams::new(names.to_vec())
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();

    let mut env = Vec::new();
    let mut checked = Vec::new();
    for conf in &confs {
        let text = std::fs::read_to_string(conf).unwrap();
        for name in tls_files(&text) {
            let pem = if name.ends_with(".key") {
                key.serialize_pem()
            } else if name.starts_with("ca") {
                ca.pem()
            } else {
                node.pem()
            };
            std::fs::write(tls.join(&name), pem).unwrap();
        }
        for name in variables(&text) {
            env.push((name.clone(), format!("test-password-for-{name}")));
        }
        let tls_dir = format!("{}/", tls.display());
        std::fs::write(conf, text.replace(INSTALLED_TLS_DIR, &tls_dir)).unwrap();
    }
    for conf in &confs {
        let name = conf.strip_prefix(&nats).unwrap().display().to_string();
        // users.conf is a fragment the others include, not a server configuration.
        if name == "users.conf" {
            continue;
        }
        let output = Command::new(&binary)
            .args(["-t", "-c"])
            .arg(conf)
            .current_dir(conf.parent().unwrap())
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "deploy/nats/{name} is not a valid nats-server configuration:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        checked.push(name);
    }
    checked.sort();
    // The single server, the cluster on one host and the three machines' nodes, at least.
    for expected in [
        "single.conf",
        "cluster/n1.conf",
        "nats-n1.conf",
        "nats-n2.conf",
        "nats-n3.conf",
    ] {
        assert!(
            checked.iter().any(|c| c == expected),
            "deploy/nats/{expected} was not checked: {checked:?}"
        );
    }
    println!("checked with {}: {checked:?}", binary.display());
}
