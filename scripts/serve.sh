#!/usr/bin/env bash
# Serve gptviz as N Streamlit replicas behind nginx with sticky sessions, on one machine.
#   bash scripts/serve.sh 2                  # 2 replicas, the class opens http://HOST:8080
#   PORT=80 HOST=0.0.0.0 bash scripts/serve.sh 4
# Environment: PORT (nginx's, default 8080), HOST (nginx listens there, default 0.0.0.0),
# BASE_PORT (replica k listens on 127.0.0.1:BASE_PORT+k, default 8601), RUN_DIR (logs, pids,
# the rendered nginx.conf; default /tmp/gptviz-serve), PYTHON (default: python on PATH).
# Needs nginx (Debian: apt-get install nginx); no root unless PORT < 1024. Ctrl-C (or TERM)
# stops nginx and every replica. Across several machines: run the replicas on each machine
# and list them all in one nginx (README, "Deploy").
set -euo pipefail

N="${1:-2}"
if ! [[ "$N" =~ ^[1-9][0-9]?$ ]]; then
    echo "usage: scripts/serve.sh N   (N replicas, 1 to 99)" >&2
    exit 2
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PORT="${PORT:-8080}"
HOST="${HOST:-0.0.0.0}"
BASE_PORT="${BASE_PORT:-8601}"
RUN_DIR="${RUN_DIR:-/tmp/gptviz-serve}"
PYTHON="${PYTHON:-$(command -v python || command -v python3)}"
NGINX="${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}"
if [[ ! -x "$NGINX" ]]; then
    echo "nginx not found: install it (Debian: apt-get install nginx)" >&2
    exit 1
fi
mkdir -p "$RUN_DIR"

pids=()
stop() {
    trap - EXIT INT TERM
    [[ -f "$RUN_DIR/nginx.pid" ]] && kill "$(cat "$RUN_DIR/nginx.pid")" 2>/dev/null || true
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop EXIT INT TERM

# one cookie secret for all replicas: a browser moved to another replica (its own went away)
# keeps a valid XSRF cookie, so its uploads still work there
export STREAMLIT_SERVER_COOKIE_SECRET="${STREAMLIT_SERVER_COOKIE_SECRET:-$(
    "$PYTHON" -c 'import secrets; print(secrets.token_hex(32))')}"

start_replica() {  # replica k (1..N) in the background; its pid in pids[k-1]
    local k="$1" port=$((BASE_PORT + $1 - 1))
    "$PYTHON" -m streamlit run app.py --server.headless true --server.address 127.0.0.1 \
        --server.port "$port" --server.fileWatcherType none \
        --browser.gatherUsageStats false >> "$RUN_DIR/replica-$k.log" 2>&1 &
    pids[$((k - 1))]="$!"
    echo "$!" > "$RUN_DIR/replica-$k.pid"
    echo "$port" > "$RUN_DIR/replica-$k.port"
}

# Each replica keeps its views' redraws within a share of its own interpreter, measured
# (gptviz/live/slots.py), but replicas on one machine also share its cores, and a measure of
# CPU time cannot see a core another process is using: each replica gets its part of the
# redraws one process keeps up with (20 a second), so that views slow down together instead of
# stalling. (Measured with 2 replicas on 2 cores and the tests of a CI run beside them: without
# this part, the slowest of 20 views redrew 0.05 times a second and a newcomer waited 7-12 s.)
export GPTVIZ_REDRAW_BUDGET="${GPTVIZ_REDRAW_BUDGET:-$((20 / N > 1 ? 20 / N : 1))}"

upstreams=""
for ((k = 1; k <= N; k++)); do
    : > "$RUN_DIR/replica-$k.log"
    start_replica "$k"
    upstreams+="        server 127.0.0.1:$((BASE_PORT + k - 1)) max_fails=1 fail_timeout=5s;"$'\n'
done
# one pool per replica: that replica, and the others as backups for while it is down
pinned="" routes="" names=""
for ((k = 1; k <= N; k++)); do
    pinned+="    upstream gptviz_r$k {"$'\n'
    pinned+="        server 127.0.0.1:$((BASE_PORT + k - 1)) max_fails=1 fail_timeout=5s;"$'\n'
    for ((j = 1; j <= N; j++)); do
        if (( j != k )); then pinned+="        server 127.0.0.1:$((BASE_PORT + j - 1)) backup;"$'\n'; fi
    done
    pinned+="    }"$'\n'
    routes+="        r$k gptviz_r$k;"$'\n'
    # the last address tried (after a failover nginx lists each: "A, B")
    names+="        \"~127\\.0\\.0\\.1:$((BASE_PORT + k - 1))\$\" r$k;"$'\n'
done

# every replica answers Streamlit's health check before nginx sends it anyone
for ((k = 1; k <= N; k++)); do
    port=$((BASE_PORT + k - 1))
    for _ in $(seq 600); do
        if "$PYTHON" - "$port" <<'PY' 2>/dev/null; then break; fi
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/_stcore/health", timeout=1)
PY
        if ! kill -0 "${pids[$((k - 1))]}" 2>/dev/null; then
            echo "replica $k exited: see $RUN_DIR/replica-$k.log" >&2
            exit 1
        fi
        sleep 0.1
    done
done

export RUN_DIR LISTEN="$HOST:$PORT" UPSTREAMS="$upstreams" PINNED="$pinned" ROUTES="$routes" NAMES="$names"
"$PYTHON" - <<'PY'
import os
from pathlib import Path
t = Path("deploy/nginx.conf.template").read_text()
for k in ("RUN_DIR", "LISTEN", "UPSTREAMS", "PINNED", "ROUTES", "NAMES"):
    t = t.replace(f"@{k}@", os.environ[k].rstrip("\n"))
Path(os.environ["RUN_DIR"], "nginx.conf").write_text(t)
PY
"$NGINX" -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" -g "daemon off;" &
nginx_pid="$!"
pids+=("$nginx_pid")
echo "gptviz: $N replicas behind nginx on http://$HOST:$PORT (logs in $RUN_DIR)"
# a replica that ends (a crash, the out-of-memory killer) is started again; meanwhile nginx
# sends its users to the others. When nginx ends, everything stops.
while true; do
    ended=""
    wait -n -p ended || true
    # bash leaves `ended` unset when wait returns without reporting a job (seen right after a
    # replica was started again: under `set -u` that stopped everything, the survivor too)
    ended="${ended:-}"
    if [[ -z "$ended" ]]; then
        if kill -0 "$nginx_pid" 2>/dev/null; then
            sleep 0.2
            continue
        fi
        ended="$nginx_pid"
    fi
    if [[ "$ended" == "$nginx_pid" ]]; then
        echo "nginx ended: stopping the replicas" >&2
        exit 1
    fi
    for ((k = 1; k <= N; k++)); do
        if [[ "${pids[$((k - 1))]}" == "$ended" ]]; then
            echo "replica $k (pid $ended) ended: starting it again" >&2
            sleep 1
            start_replica "$k"
        fi
    done
done
