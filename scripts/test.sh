#!/usr/bin/env bash
# The one test command: installs what the tests need, lints, runs every test.
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh -k layer   # extra arguments go to pytest
# Works on a fresh Debian machine as root. Exits non-zero on any failure
# (pytest's exit code 5, "no tests collected", counts as a failure too).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-$(command -v python || command -v python3)}"

# requirements.txt names PyTorch's CPU wheel page (for Community Cloud). pip asks that page
# for every package it installs; where it cannot be reached (offline build machines), pip's
# default 5 retries with backoff cost 7.5 minutes on a fresh environment before it takes the
# same wheels from a local directory; with no retries the whole install takes about 46 s.
export PIP_RETRIES="${PIP_RETRIES:-0}"

echo "==> pip install -r requirements-dev.txt"
"$PYTHON" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    -r requirements-dev.txt

# Browser tests drive Debian's Chromium through Playwright; never `playwright install`.
# The replicas test (tests/e2e/test_replicas.py) puts Debian's nginx in front of the app.
missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ -x /usr/sbin/nginx ]] || missing+=(nginx)
# The room store's tests (tests/test_rooms_store.py, tests/e2e/test_room.py) start a real
# PostgreSQL server from Debian's binaries (tests/pgserver.py finds them by this glob).
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
# The Chinese pages' screenshots need a CJK font in the browser's machine (no tofu boxes)
[[ -n "$(fc-list :lang=zh 2>/dev/null)" ]] || missing+=(fonts-noto-cjk)
if (( ${#missing[@]} )); then
    echo "==> apt-get install ${missing[*]}"
    SUDO=""
    if [[ "$(id -u)" -ne 0 ]]; then SUDO="sudo"; fi
    $SUDO apt-get update
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

echo "==> ruff check"
"$PYTHON" -m ruff check .

echo "==> pytest"
"$PYTHON" -m pytest -q "$@"
