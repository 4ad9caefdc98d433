#!/usr/bin/env bash
# Quick start, first command: installs the pinned nats-server if missing, builds, and runs
# `pilot serve --demo`: the service on its own embedded nats-server, with the Nanguo history
# loaded, printing its URL. Ctrl-C stops it (and its nats-server) cleanly.
# Extra arguments go to `pilot serve` (e.g. --listen 127.0.0.1:9090).
set -euo pipefail
cd "$(dirname "$0")/.."
PILOT_NATS_SERVER=$(scripts/install-nats-server.sh)
export PILOT_NATS_SERVER
exec cargo run --release -q -p pilot-service -- serve --demo "$@"
