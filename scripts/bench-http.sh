#!/usr/bin/env bash
# The HTTP benchmark (services/pilot/benches/http.rs): HTTP appends with 64 connections
# against in-process appends, and GET latency at a fixed rate. Installs the pinned load
# generator `oha` from crates.io into .tools/oha (a few minutes the first time) and the
# pinned nats-server. Not part of the test suite. Usage: scripts/bench-http.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
OHA_VERSION=1.16.0
OHA=.tools/oha/bin/oha
if [[ ! -x "$OHA" ]] || [[ "$("$OHA" --version)" != *"$OHA_VERSION"* ]]; then
    echo "installing oha $OHA_VERSION into .tools/oha" >&2
    cargo install oha --version "$OHA_VERSION" --locked --root .tools/oha >&2
fi
PILOT_NATS_SERVER=$(scripts/install-nats-server.sh)
export PILOT_NATS_SERVER
PILOT_OHA="$PWD/$OHA" exec cargo bench -q -p pilot-service --bench http -- "${1:-10}"
