#!/usr/bin/env bash
# Quick start, first command: installs the pinned nats-server if missing, builds, and runs
# `pilot serve --demo`: the service on its own embedded nats-server, with the Nanguo history
# loaded. Once it is ready it prints the web app's URL first (open it in a browser), then
# pilot's own line with the API's URL. Ctrl-C stops it (and its nats-server) cleanly.
# Extra arguments go to `pilot serve` (e.g. --listen 127.0.0.1:9090).
set -euo pipefail
cd "$(dirname "$0")/.."
PILOT_NATS_SERVER=$(scripts/install-nats-server.sh)
export PILOT_NATS_SERVER
# The build first, with cargo's progress on the terminal: a first release build takes minutes.
echo "demo: building pilot (release; the first build takes several minutes, cargo shows its progress)" >&2
cargo build --release --locked -p pilot-service --bin pilot
echo "demo: starting pilot serve --demo (its own nats-server, the Nanguo history)" >&2
# pilot's stdout is one line once it is ready ("pilot is serving ... at http://ADDR/api/v1/
# pilots"); the web app is at the root of the same address. pipefail keeps pilot's exit status.
cargo run --release --locked -q -p pilot-service -- serve --demo "$@" | while IFS= read -r line; do
	case $line in
	"pilot is serving"*" at http://"*/api/v1/pilots)
		api=${line##* at }
		printf 'Web app: %s/  (open it in a browser)\n' "${api%/api/v1/pilots}"
		printf 'API:     %s\n' "$line"
		;;
	*) printf '%s\n' "$line" ;;
	esac
done
