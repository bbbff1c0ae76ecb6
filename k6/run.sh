#!/usr/bin/env bash
# Runs one k6 load-test script: the script behind `make load-test SCENARIO=load`.
#
#   k6/run.sh [scenario] [extra k6 run args...]     (or SCENARIO=load k6/run.sh)
#
# Scenarios are the *.js files next to this script (smoke, load, stress, spike, soak).
# Environment variables (BASE_URL, RATE, DURATION, ...) pass through to the script as
# __ENV. Summaries go to $SUMMARY_DIR, by default k6/results/<scenario>-<UTC time>/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

scenario="${1:-${SCENARIO:-smoke}}"
if [[ $# -gt 0 ]]; then shift; fi

available() {
  local f names=()
  for f in "$here"/*.js; do names+=("$(basename "$f" .js)"); done
  echo "${names[*]}"
}

if [[ ! "$scenario" =~ ^[a-z][a-z0-9-]*$ || ! -f "$here/$scenario.js" ]]; then
  echo "error: unknown scenario '$scenario'. Available: $(available)" >&2
  exit 2
fi

k6_bin="${K6:-k6}"
if ! command -v "$k6_bin" >/dev/null 2>&1; then
  cat >&2 <<MSG
error: k6 is not installed (looked for '$k6_bin' on PATH).

Install it from https://grafana.com/docs/k6/latest/set-up/install-k6/ :
  macOS:          brew install k6
  Debian/Ubuntu:  add Grafana's k6 apt repository (see the page above), then
                  sudo apt-get install k6
  Fedora/RHEL:    sudo dnf install https://dl.k6.io/rpm/repo.rpm && sudo dnf install k6
  Windows:        winget install k6 --source winget   (or: choco install k6)
  Any OS:         a binary from https://github.com/grafana/k6/releases

Or run it with Docker (host networking so the container reaches localhost:3000):
  docker run --rm -i --network host -u "\$(id -u):\$(id -g)" \\
    -v "\$PWD/k6:/k6" -e SUMMARY_DIR=/k6/results -e BASE_URL=http://localhost:3000 \\
    grafana/k6 run /k6/$scenario.js

Set K6=/path/to/k6 to use a binary that is not on PATH.
MSG
  exit 1
fi

if [[ -z "${SUMMARY_DIR:-}" ]]; then
  SUMMARY_DIR="$here/results/$scenario-$(date -u +%Y%m%dT%H%M%SZ)"
fi
mkdir -p "$SUMMARY_DIR"
export SUMMARY_DIR

echo "k6 $scenario against ${BASE_URL:-http://localhost:3000}; summaries in $SUMMARY_DIR" >&2
exec "$k6_bin" run "$@" "$here/$scenario.js"
