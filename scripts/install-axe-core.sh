#!/usr/bin/env bash
# Make the pinned axe-core (accessibility checker the browser tests inject into pages)
# available in a project-local tools folder and print the absolute path of axe.min.js as the
# only line on stdout.
#
#   PILOT_AXE_JS=$(scripts/install-axe-core.sh)
#
# Source: the npm registry's axe-core@4.14.1 tarball (`npm pack`), pinned by its sha512
# integrity (the registry's `dist.integrity`, also checked by npm itself) and by sha256.
# Installs to ${PILOT_TOOLS_DIR:-<repo>/.tools}/axe-core-4.14.1/axe.min.js.
#
# Environment:
#   PILOT_AXE_JS     use this axe.min.js instead of installing one (must exist).
#   PILOT_TOOLS_DIR  tools folder to install into (default: <repo>/.tools).
#
# Exit codes: 0 ok, 1 failure (no npm, download, checksum mismatch, bad override).
set -euo pipefail

readonly AXE_VERSION="4.14.1"
readonly AXE_INTEGRITY="sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
readonly AXE_SHA256="e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745"

log() { printf 'install-axe-core: %s\n' "$*" >&2; }
die() {
	printf 'install-axe-core: ERROR: %s\n' "$*" >&2
	exit 1
}

case ${1:-} in
-h | --help)
	sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 0
	;;
"") ;;
*) die "unknown argument: $1" ;;
esac

abs_path() {
	case $1 in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s/%s\n' "$PWD" "$1" ;;
	esac
}

# 1. Explicit override.
if [[ -n ${PILOT_AXE_JS:-} ]]; then
	[[ -f $PILOT_AXE_JS ]] || die "PILOT_AXE_JS=$PILOT_AXE_JS: no such file"
	abs_path "$PILOT_AXE_JS"
	exit 0
fi

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools_dir=$(abs_path "${PILOT_TOOLS_DIR:-$repo_root/.tools}")
dest_dir="$tools_dir/axe-core-$AXE_VERSION"
js="$dest_dir/axe.min.js"
stamp="$dest_dir/.sha256-$AXE_SHA256"

# 2. Fast path: installed from a tarball that matched the pins.
if [[ -f $js && -f $stamp ]]; then
	printf '%s\n' "$js"
	exit 0
fi

mkdir -p "$dest_dir"
if command -v flock >/dev/null 2>&1; then
	exec 9>"$tools_dir/.axe-core-$AXE_VERSION.lock"
	flock -w 600 9 || die "timed out waiting for lock $tools_dir/.axe-core-$AXE_VERSION.lock"
	if [[ -f $js && -f $stamp ]]; then
		printf '%s\n' "$js"
		exit 0
	fi
fi

command -v npm >/dev/null 2>&1 || die "npm is required to fetch axe-core@$AXE_VERSION (apt-get install npm), or set PILOT_AXE_JS=/path/to/axe.min.js"
command -v python3 >/dev/null 2>&1 || die "python3 is required (to check the tarball's sha512 integrity)"

work=$(mktemp -d "${TMPDIR:-/tmp}/axe-core-install.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

log "downloading axe-core@$AXE_VERSION from the npm registry"
(cd "$work" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null) ||
	die "npm pack axe-core@$AXE_VERSION failed"
tarball="$work/axe-core-$AXE_VERSION.tgz"
[[ -f $tarball ]] || die "npm pack left no $tarball"

integrity=$(python3 -c 'import base64,hashlib,sys; print("sha512-" + base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$tarball")
sha256=$(python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$tarball")
if [[ $integrity != "$AXE_INTEGRITY" || $sha256 != "$AXE_SHA256" ]]; then
	die "checksum mismatch for axe-core-$AXE_VERSION.tgz:
  expected $AXE_INTEGRITY
           sha256 $AXE_SHA256
  actual   $integrity
           sha256 $sha256
Refusing to install."
fi
log "sha512 integrity and sha256 OK"

tar -xzf "$tarball" -C "$work" package/axe.min.js package/LICENSE package/package.json ||
	die "could not extract axe.min.js from the tarball"
grep -q "axe v$AXE_VERSION" "$work/package/axe.min.js" || die "axe.min.js does not announce v$AXE_VERSION"
cp "$work/package/LICENSE" "$dest_dir/LICENSE"
cp "$work/package/package.json" "$dest_dir/package.json"
cp "$work/package/axe.min.js" "$dest_dir/.axe.min.js.$$"
mv -f "$dest_dir/.axe.min.js.$$" "$js"
touch "$stamp"
log "installed axe-core v$AXE_VERSION"
printf '%s\n' "$js"
