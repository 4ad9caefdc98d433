//! Tells the binary which compiler built it, for `pilot_build_info{rustc}` on `/metrics`. The
//! commit comes from `PILOT_GIT_COMMIT` at build time (a release build sets it): a dev build
//! leaves it out rather than report one that may be stale.

// A build script talks to cargo on stdout.
#![allow(clippy::print_stdout)]

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=PILOT_GIT_COMMIT");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string());
    if let Some(version) = version {
        println!("cargo:rustc-env=PILOT_RUSTC_VERSION={version}");
    }
}
