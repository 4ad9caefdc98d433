#!/usr/bin/env bash
# The whole test suite: formatting, lints, the purity of the domain crates, and every test.
# This is the README's second Quick start command; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*" >&2; }

# Installs Debian packages, saying first what and why: `install_debian "why" PACKAGE...`.
# It tries the package lists as they are, then refreshed; it fails (status 1) without apt-get
# or when the packages cannot be had, and the caller says what will skip.
install_debian() {
  local why=$1
  shift
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "note: no apt-get to install $* ($why)" >&2
    return 1
  fi
  echo "installing Debian packages with apt-get: $* ($why)" >&2
  { DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" \
    || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"; }; } >/dev/null 2>&1
}

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "the pure crates stay pure (no tokio, async-nats or HTTP)"
for crate in pilot-events pilot-projections pilot-web-view; do
  impure=$(cargo tree --locked -q -p "$crate" -e normal --prefix none \
    | awk '{print $1}' | grep -x -E 'tokio|async-nats|axum|hyper|reqwest|mio' | sort -u || true)
  if [ -n "$impure" ]; then
    echo "error: $crate depends on: $impure ($crate does no IO: see ARCHITECTURE.md, Invariants)" >&2
    exit 1
  fi
done

step "the Prometheus alert rules (promtool check rules, promtool test rules)"
# promtool comes with Debian's prometheus package (the server binary and promtool; its service
# is not started here): tried as the packages above are, else the check says it skipped and why.
if ! command -v promtool >/dev/null 2>&1; then
  install_debian "promtool, to check the Prometheus rules" --no-install-recommends prometheus \
    || echo "note: Debian's prometheus package (promtool) could not be installed" >&2
fi
if command -v promtool >/dev/null 2>&1; then
  promtool check rules deploy/prometheus/pilot-tracker-rules.yml
  promtool test rules deploy/prometheus/pilot-tracker-rules.test.yml
else
  echo "skipped: promtool is not installed (Debian's prometheus package), so deploy/prometheus/pilot-tracker-rules.yml is not checked" >&2
fi

step "nats-server for the integration tests"
# The pinned current server (tests start it themselves on free loopback ports) ...
PILOT_NATS_SERVER=$(scripts/install-nats-server.sh)
export PILOT_NATS_SERVER
# ... and, where Debian's package can be had, its 2.9.10 too: one test checks that pilot
# refuses it. Without it that test says it was skipped and why.
if ! [ -x /usr/sbin/nats-server ] && ! [ -x /usr/bin/nats-server ]; then
  install_debian "its old 2.9 server, which one test checks pilot refuses" nats-server \
    || echo "note: Debian's nats-server package could not be installed; the old-server refusal test will skip" >&2
fi

step "chromium, chromedriver, CJK fonts, poppler and axe-core for the browser tests"
# Debian's packages, as for the old nats-server above: try, else refresh the package lists and
# try again, else say that the browser tests will skip (they print "skipped: <reason>").
browser_packages=()
[ -x /usr/bin/chromium ] || browser_packages+=(chromium)
[ -x /usr/bin/chromedriver ] || browser_packages+=(chromium-driver)
[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || browser_packages+=(fonts-noto-cjk)
command -v pdftotext >/dev/null 2>&1 || browser_packages+=(poppler-utils)
if [ ${#browser_packages[@]} -gt 0 ]; then
  install_debian "the browser tests of the web app" "${browser_packages[@]}" \
    || echo "note: could not install ${browser_packages[*]}; the browser tests will skip" >&2
fi
# Debian's real binary, not the /usr/bin/chromium wrapper (which adds Google API keys and
# remote extensions from /etc/chromium.d).
if [ -z "${PILOT_CHROMIUM:-}" ] && [ -x /usr/lib/chromium/chromium ]; then
  export PILOT_CHROMIUM=/usr/lib/chromium/chromium
fi
if [ -z "${PILOT_CHROMEDRIVER:-}" ] && [ -x /usr/bin/chromedriver ]; then
  export PILOT_CHROMEDRIVER=/usr/bin/chromedriver
fi
# Once both are here, a browser test that cannot start them fails instead of skipping.
if [ -x "${PILOT_CHROMIUM:-}" ] && [ -x "${PILOT_CHROMEDRIVER:-}" ]; then
  export PILOT_BROWSER_REQUIRED=${PILOT_BROWSER_REQUIRED:-1}
fi
# axe-core from the npm registry, pinned by version, sha512 integrity and sha256.
if PILOT_AXE_JS=$(scripts/install-axe-core.sh); then
  export PILOT_AXE_JS
else
  echo "note: axe-core could not be installed; the accessibility checks will fail" >&2
fi

step "aiosmtpd for the e-mail sink's SMTP test"
# From PyPI, pinned, into the project's .tools/ (with its two dependencies, atpublic and attrs).
# Without it that test says it was skipped and why.
aiosmtpd_dir=$PWD/.tools/aiosmtpd-1.4.6
if ! PYTHONPATH=$aiosmtpd_dir python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
  echo "installing aiosmtpd 1.4.6 from PyPI with pip into $aiosmtpd_dir (a local SMTP server for the e-mail test)" >&2
  python3 -m pip install -q --disable-pip-version-check --target "$aiosmtpd_dir" 'aiosmtpd==1.4.6' >/dev/null 2>&1 \
    || echo "note: aiosmtpd could not be installed with pip; the e-mail sink's SMTP test will skip" >&2
fi
export PILOT_AIOSMTPD_PATH=$aiosmtpd_dir

step "cargo test"
log=$(mktemp)
faults=$(mktemp)
trap 'rm -f "$log" "$faults"' EXIT
# The cluster fault suite runs alone below: three nats-servers and five pilot processes are
# all two cores carry, so nothing else may run beside it.
cargo test --workspace --locked -- --skip cluster_fault_ 2>&1 | tee "$log"

step "the OpenTelemetry trace export (pilot-service --features otel: one lib and one test binary)"
cargo clippy --locked -p pilot-service --features otel --lib --test otel -- -D warnings
cargo test --locked -p pilot-service --features otel --test otel 2>&1 | tee -a "$log"

step "the cluster fault suite (a 3-node cluster under append load, one fault at a time)"
PILOT_FAULT_SUITE=1 cargo test --locked -p pilot-service --test cluster_faults \
  -- --test-threads=1 --nocapture 2>&1 | tee "$faults"
cat "$faults" >> "$log"
{
  printf '\n| fault | acknowledged | stored | lost | duplicated | writes resumed after (s) | longest pause (s) | requests sent again | alert transitions |\n'
  printf '|---|---|---|---|---|---|---|---|---|\n'
  grep '^fault suite |' "$faults" | sed 's/^fault suite //; s/$/ |/'
} >&2
# One closing line for the whole run (cargo prints one per test binary, the last often "0 passed").
awk '/^test result:/ { passed += $4; failed += $6; ignored += $8 }
     END { printf "\ntests: %d passed, %d failed, %d skipped\n", passed, failed, ignored }' "$log"
