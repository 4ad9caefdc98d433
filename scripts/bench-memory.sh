#!/usr/bin/env bash
# The memory benchmark (services/pilot/benches/memory.rs, issue 11): the pinned nats-server
# on a free loopback port, EVENTS synthetic events published into its event log, then the
# release `pilot serve --nats URL` started cold, stopped with SIGTERM, restarted from its
# checkpoints and once more with `--only api`: time from spawn to /readyz 200 and to the
# alerter's "caught up" line, VmRSS / RssAnon / VmHWM from /proc/PID/status, checkpoint sizes.
# Not part of the test suite. 1,000,000 events take about 2.5 minutes on 2 cores, with pilot
# near 1.6 GiB and nats-server near 0.9 GiB resident (docs/bench/memory-before.txt).
# Usage: scripts/bench-memory.sh [EVENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-1000000}
if ! [[ "$events" =~ ^[0-9]+$ ]] || (( events < 10 )); then
    echo "usage: scripts/bench-memory.sh [EVENTS]   (a whole number, at least 10)" >&2
    exit 2
fi
PILOT_NATS_SERVER=$(scripts/install-nats-server.sh)
export PILOT_NATS_SERVER
# Every temporary directory (nats-server's store, pilot's data directory) goes under one
# folder, removed on exit; the pids the bench starts are listed there, so that an interrupted
# bench leaves no process behind.
work=$(mktemp -d "${TMPDIR:-/tmp}/pilot-bench-memory.XXXXXX")
cleanup() {
    if [[ -f "$work/pids" ]]; then
        while read -r pid; do
            if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
                kill -TERM "$pid" 2>/dev/null || true
            fi
        done < "$work/pids"
        sleep 1
        while read -r pid; do
            if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
                kill -KILL "$pid" 2>/dev/null || true
            fi
        done < "$work/pids"
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# Build first, so that the bench's own deadlines do not count compile time.
cargo bench -q -p pilot-service --bench memory --no-run
TMPDIR="$work" PILOT_BENCH_PIDS="$work/pids" \
    cargo bench -q -p pilot-service --bench memory -- "$events"
