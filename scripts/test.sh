#!/usr/bin/env bash
# The whole test suite: formatting, lints, the purity of the domain crates, and every test.
# This is the README's second Quick start command; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*" >&2; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "the domain crates stay pure (no tokio, async-nats or HTTP)"
for crate in pilot-events pilot-projections; do
  impure=$(cargo tree --locked -q -p "$crate" -e normal --prefix none \
    | awk '{print $1}' | grep -x -E 'tokio|async-nats|axum|hyper|reqwest|mio' | sort -u || true)
  if [ -n "$impure" ]; then
    echo "error: $crate depends on: $impure (events and projections must do no IO)" >&2
    exit 1
  fi
done

step "nats-server for the integration tests"
# The pinned current server (tests start it themselves on free loopback ports) ...
PILOT_NATS_SERVER=$(scripts/install-nats-server.sh)
export PILOT_NATS_SERVER
# ... and, where Debian's package can be had, its 2.9.10 too: one test checks that pilot
# refuses it. Without it that test says it was skipped and why.
if ! [ -x /usr/sbin/nats-server ] && ! [ -x /usr/bin/nats-server ] && command -v apt-get >/dev/null 2>&1; then
  { apt-get install -y -q nats-server || { apt-get update -q && apt-get install -y -q nats-server; }; } >/dev/null 2>&1 \
    || echo "note: Debian's nats-server package could not be installed; the old-server refusal test will skip" >&2
fi

step "cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked 2>&1 | tee "$log"
# One closing line for the whole run (cargo prints one per test binary, the last often "0 passed").
awk '/^test result:/ { passed += $4; failed += $6; ignored += $8 }
     END { printf "\ntests: %d passed, %d failed, %d skipped\n", passed, failed, ignored }' "$log"
