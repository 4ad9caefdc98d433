#!/usr/bin/env bash
# The alerter benchmark (services/alerter/benches/alerter.rs): idle tick cost of the alert book
# for 1,000 to 100,000 pending approvals, then the real alerter over 100,000 pending approvals
# on the pinned nats-server: catch-up, idle CPU, and due-to-stored delays p50/p99.
# Not part of the test suite; takes about two minutes. Usage: scripts/bench-alerter.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PILOT_NATS_SERVER=$(scripts/install-nats-server.sh)
export PILOT_NATS_SERVER
exec cargo bench -q -p pilot-alerter --bench alerter
