#!/usr/bin/env bash
# Creates the two environments (see README "Architecture"):
#   .venv-rasa  Python 3.10, Rasa 3.6.21 server + the project's pure-Python NLU components
#   .venv-app   Python 3.11, action server, triage, tickets, gateway, channels, console, tests
# Idempotent: an environment is rebuilt only when its requirement files changed.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[install] %s\n' "$*" >&2; }
die() { printf '\033[31m[install] %s\033[0m\n' "$*" >&2; exit 1; }

find_python() {  # find_python 3.10 -> path of an interpreter of that version, or nothing
  local want=$1 candidate
  for candidate in "python$want" "$(command -v pyenv >/dev/null 2>&1 && pyenv prefix "$want" 2>/dev/null | sed 's|$|/bin/python|')" \
                   "$(ls -d "$HOME"/.pyenv/versions/"$want"*/bin/python 2>/dev/null | tail -n1)"; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 && \
       [ "$("$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$want" ]; then
      command -v "$candidate"; return 0
    fi
  done
}

PY310=$(find_python 3.10) || true
[ -n "${PY310:-}" ] || die "Python 3.10 is required for the Rasa server (Rasa 3.6 supports 3.8-3.10) and was not found.
  Install it with one of:
    pyenv install 3.10.13            (then run make install again)
    apt-get install python3.10 python3.10-venv   (Debian/Ubuntu with 3.10 packages)
  or put a python3.10 on PATH."
PY311=$(find_python 3.11) || true
[ -n "${PY311:-}" ] || die "Python 3.11 is required for the app and action server and was not found.
  Install it with: pyenv install 3.11.7   (or apt-get install python3.11 python3.11-venv)"

if ! command -v uv >/dev/null 2>&1; then
  say "installing uv (fast installer) with pip"
  "$PY311" -m pip install --quiet --disable-pip-version-check uv || die "could not install uv with pip; install it by hand: pip install uv"
fi
UV=$(command -v uv || echo "$("$PY311" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/uv")

# torch: prefer the local CPU wheel folder that pip is configured with (much smaller than the CUDA build).
FIND_LINKS=()
for dir in $(pip config list 2>/dev/null | sed -n "s/.*find-links='\(.*\)'/\1/p" | sort -u) /opt/wheels; do
  [ -d "$dir" ] && FIND_LINKS+=(--find-links "$dir") && break
done

stamp_ok() { [ -f "$1/.installed" ] && [ "$(cat "$1/.installed")" = "$2" ]; }

RASA_HASH=$(cat requirements/rasa.txt requirements/rasa-dev.txt | sha256sum | cut -c1-16)
if stamp_ok .venv-rasa "$RASA_HASH"; then
  say ".venv-rasa is up to date"
else
  say "creating .venv-rasa (Python 3.10, rasa==3.6.21) - about a minute on a cold cache"
  "$UV" venv --quiet --allow-existing --python "$PY310" .venv-rasa
  "$UV" pip install --quiet --python .venv-rasa/bin/python -r requirements/rasa.txt -r requirements/rasa-dev.txt
  echo "$RASA_HASH" > .venv-rasa/.installed
fi

APP_HASH=$(cat pyproject.toml requirements/app.txt | sha256sum | cut -c1-16)
if stamp_ok .venv-app "$APP_HASH"; then
  say ".venv-app is up to date"
else
  say "creating .venv-app (Python 3.11, rasa-sdk, torch CPU, sentence-transformers, SQLAlchemy 2, PTB 22)"
  "$UV" venv --quiet --allow-existing --python "$PY311" .venv-app
  "$UV" pip install --quiet --python .venv-app/bin/python "${FIND_LINKS[@]}" -r requirements/app.txt -e ".[dev]"
  echo "$APP_HASH" > .venv-app/.installed
fi
say "done: .venv-rasa ($(.venv-rasa/bin/python --version)), .venv-app ($(.venv-app/bin/python --version))"
