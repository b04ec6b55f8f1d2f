#!/usr/bin/env bash
# Contract fuzzing: schemathesis (from PyPI) against a running kryptos-connect.
#
# Starts the server binary on a free loopback port with a throw-away data directory (SQLite)
# and the demo off, registers a sandbox client with `kryptos-connect clients create --json`,
# obtains a live access token and a fresh link token through the API, then runs
# `schemathesis run http://127.0.0.1:PORT/openapi.json` with those credentials and checks that
# no response is a 5xx (`not_a_server_error`) and every response matches the documented schema
# (`response_schema_conformance`). Exits non-zero on any finding; the server is always stopped.
#
# Usage: scripts/contract-fuzz.sh [--release] [--no-build] [--max-examples N] [--max-time SECONDS] [--seed N]
#
#   --release        use the release binary (default: debug)
#   --no-build       do not run `cargo build` first (the binary must exist)
#   --max-examples   test cases per operation (default 40, or $KC_FUZZ_MAX_EXAMPLES)
#   --max-time       time budget of the schemathesis run in seconds (default 240, or $KC_FUZZ_MAX_TIME)
#   --seed           schemathesis seed, for a reproducible run (default: random, printed)
#
# Environment: KC_FUZZ_BIN overrides the server binary; KC_FUZZ_REPORT_DIR the report directory
# (default <target>/contract-fuzz-report); KC_FUZZ_REPORTS the report formats (default junit;
# e.g. junit,har to keep every request and response). The Python venv lives in
# <target>/contract-fuzz-venv and is reused across runs; schemathesis runs in
# <target>/contract-fuzz so its `.schemathesis/` cache stays out of the source tree.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

profile=debug
build=1
max_examples=${KC_FUZZ_MAX_EXAMPLES:-40}
max_time=${KC_FUZZ_MAX_TIME:-240}
seed=${KC_FUZZ_SEED:-}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --release) profile=release ;;
    --no-build) build=0 ;;
    --max-examples) max_examples=$2; shift ;;
    --max-time) max_time=$2; shift ;;
    --seed) seed=$2; shift ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "contract-fuzz: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[[ -n "$seed" ]] || seed=$(( (RANDOM << 15) | RANDOM ))

log() { printf 'contract-fuzz: %s\n' "$*" >&2; }

target_dir=${CARGO_TARGET_DIR:-}
if [[ -z "$target_dir" ]]; then
  target_dir=$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
fi
mkdir -p "$target_dir"
target_dir=$(cd "$target_dir" && pwd)

# --- the server binary ---------------------------------------------------------------------
if [[ -n "${KC_FUZZ_BIN:-}" ]]; then
  bin=$KC_FUZZ_BIN
else
  if [[ $build == 1 ]]; then
    log "building kryptos-connect ($profile)"
    if [[ $profile == release ]]; then cargo build --quiet --release -p kryptos-connect; else cargo build --quiet -p kryptos-connect; fi
  fi
  bin="$target_dir/$profile/kryptos-connect"
fi
[[ -x "$bin" ]] || { log "no server binary at $bin (build it, or set KC_FUZZ_BIN)"; exit 2; }

# --- schemathesis in a venv under target/ ----------------------------------------------------
venv="$target_dir/contract-fuzz-venv"
if [[ ! -x "$venv/bin/schemathesis" ]]; then
  log "installing schemathesis into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet 'schemathesis>=4,<5'
fi
log "$("$venv/bin/schemathesis" --version)"

# --- a throw-away server ---------------------------------------------------------------------
data_dir=$(mktemp -d "${TMPDIR:-/tmp}/kc-contract-fuzz.XXXXXX")
server_pid=
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$data_dir"
}
trap cleanup EXIT INT TERM

export KRYPTOS__DATA_DIR="$data_dir"
export KRYPTOS__DEMO__ENABLED=false
# A throw-away pepper shared by the CLI and the server (admin commands never generate one).
KRYPTOS__SECURITY__PEPPER=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
export KRYPTOS__SECURITY__PEPPER
export KRYPTOS__DATABASE__URL="sqlite://$data_dir/kryptos.db?mode=rwc"
# Fuzzing sends many malformed credentials: keep the failed-auth limiter out of the way so
# every operation is exercised (429 answers are still documented and checked when they occur).
export KRYPTOS__SECURITY__AUTH_FAILURES_PER_MINUTE=1000000
export KRYPTOS__LOG__FILTER=${KRYPTOS__LOG__FILTER:-warn}
unset RUST_LOG

# Administration commands never create a database: `migrate` makes the throw-away one first.
"$bin" migrate >/dev/null
creds=$("$bin" clients create --name fuzz --json)
client_id=$(printf '%s' "$creds" | python3 -c 'import json, sys; print(json.load(sys.stdin)["client_id"])')
client_secret=$(printf '%s' "$creds" | python3 -c 'import json, sys; print(json.load(sys.stdin)["client_secret"])')

"$bin" serve --listen 127.0.0.1:0 >"$data_dir/stdout.log" 2>"$data_dir/server.log" &
server_pid=$!
base=
for _ in $(seq 1 600); do
  base=$(sed -n 's/.*Kryptos Connect is listening on \(http:[^ ]*\).*/\1/p' "$data_dir/stdout.log" | head -n1)
  [[ -n "$base" ]] && break
  kill -0 "$server_pid" 2>/dev/null || { log "the server exited:"; cat "$data_dir/server.log" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$base" ]] || { log "the server did not start within 60 s"; cat "$data_dir/server.log" >&2; exit 1; }
log "server $base (pid $server_pid), client $client_id"

# A live access token (a full guest widget run) and a fresh link token, so authenticated
# operations are exercised past their authentication.
tokens=$(KC_BASE="$base" KC_ID="$client_id" KC_SECRET="$client_secret" python3 - <<'PY'
import json, os, urllib.request

base, cid, secret = os.environ["KC_BASE"], os.environ["KC_ID"], os.environ["KC_SECRET"]

def call(path, body=None, link=None, client=True):
    headers = {"Content-Type": "application/json"}
    if client:
        headers.update({"X-Client-Id": cid, "X-Client-Secret": secret})
    if link:
        headers["X-LINK-TOKEN"] = link
    data = json.dumps(body if body is not None else {}).encode()
    req = urllib.request.Request(base + path, data=data, headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.load(res)["data"]

link = call("/link-token")["link_token"]
call("/widget/auth/anonymous", link=link, client=False)
call("/widget/integrations", {"provider": "ethereum", "address": "0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa"},
     link=link, client=False)
call("/widget/consent", {"approve": True}, link=link, client=False)
public = call("/widget/complete", link=link, client=False)["public_token"]
access = call("/token/exchange", {"public_token": public})["access_token"]
fresh = call("/link-token")["link_token"]
print(access, fresh)
PY
)
read -r access_token link_token <<<"$tokens"

report_dir=${KC_FUZZ_REPORT_DIR:-$target_dir/contract-fuzz-report}
mkdir -p "$report_dir" "$target_dir/contract-fuzz"
report_dir=$(cd "$report_dir" && pwd)
# schemathesis keeps a `.schemathesis/` cache in its working directory: keep it out of the tree.
cd "$target_dir/contract-fuzz"
log "schemathesis: max-examples $max_examples, max-time ${max_time}s, seed $seed"
status=0
"$venv/bin/schemathesis" run "$base/openapi.json" \
  --url "$base" \
  --header "X-Client-Id: $client_id" \
  --header "X-Client-Secret: $client_secret" \
  --header "Authorization: Bearer $access_token" \
  --header "X-LINK-TOKEN: $link_token" \
  --checks not_a_server_error,response_schema_conformance \
  --max-examples "$max_examples" \
  --max-time "$max_time" \
  --seed "$seed" \
  --request-timeout 30 \
  --workers 2 \
  --suppress-health-check all \
  --warnings off \
  --report "${KC_FUZZ_REPORTS:-junit}" \
  --report-dir "$report_dir" || status=$?

if [[ $status -ne 0 ]]; then
  log "FAILED (exit $status); server log tail:"
  tail -n 40 "$data_dir/server.log" >&2 || true
  log "report: $report_dir; reproduce with --seed $seed"
else
  log "OK: no 5xx, every response matches the schema"
fi
exit "$status"
