#!/usr/bin/env bash
# Quick start, first command: builds and shows the Nanguo history folded through every
# projection. (When the `pilot` service lands, this starts it with the history loaded.)
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release -q -p pilot-projections --example nanguo -- "$@"
