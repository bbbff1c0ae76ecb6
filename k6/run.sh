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

if [[ -z "${SUMMARY_DIR:-}" ]]; then
  SUMMARY_DIR="$here/results/$scenario-$(date -u +%Y%m%dT%H%M%SZ)"
fi
base_url="${BASE_URL:-http://localhost:3000}"

# The variables the scenario scripts read (k6/lib/config.js: envString, envNumber,
# envDuration), found in the scripts so that this list cannot fall behind them.
script_variables() {
  grep -ohE "env(String|Number|Duration)\('[A-Z][A-Z0-9_]*'" "$here"/*.js "$here"/lib/*.js |
    sed -E "s/.*'(.*)'/\1/" | sort -u
}

# The `docker run` that does what this script would, with this run's BASE_URL, the other
# variables set here (a container sees none of the host's), the summary folder mounted and the
# extra k6 arguments; each word quoted for the shell.
docker_command() {
  local q name summary="$SUMMARY_DIR"
  [[ "$summary" == /* ]] || summary="$PWD/$summary"
  printf '  mkdir -p %q\n' "$summary"
  printf '  docker run --rm -i --network host -u "$(id -u):$(id -g)" \\\n'
  printf '    -v %q \\\n' "$here:/k6:ro"
  printf '    -v %q -e SUMMARY_DIR=/summary \\\n' "$summary:/summary"
  q="-e $(printf %q "BASE_URL=$base_url")"
  for name in $(script_variables); do
    if [[ "$name" != BASE_URL && "$name" != SUMMARY_DIR && -n "${!name:-}" ]]; then
      q+=" -e $(printf %q "$name=${!name}")"
    fi
  done
  printf '    %s \\\n' "$q"
  printf '    grafana/k6 run'
  if [[ $# -gt 0 ]]; then printf ' %q' "$@"; fi
  printf ' %q\n' "/k6/$scenario.js"
}

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

Or run it with Docker (host networking so the container reaches $base_url):
$(docker_command "$@")

Set K6=/path/to/k6 to use a binary that is not on PATH.
MSG
  exit 1
fi

mkdir -p "$SUMMARY_DIR"
export SUMMARY_DIR

echo "k6 $scenario against $base_url; summaries in $SUMMARY_DIR" >&2
exec "$k6_bin" run "$@" "$here/$scenario.js"
