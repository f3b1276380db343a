#!/usr/bin/env bash
# `make rasa-test`: Rasa's end-to-end test stories against the trained model, with the real action
# server running (custom actions set the slots the dialogue depends on). Fails on any wrong prediction.
set -euo pipefail
cd "$(dirname "$0")/.."
port=$(.venv-app/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
out=var/rasa-test
mkdir -p "$out" var/tmp
SANIC_HOST=127.0.0.1 .venv-app/bin/python -m rasa_sdk --actions actions -p "$port" >"$out/action_server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || { cat "$out/action_server.log" >&2; echo "[rasa-test] action server failed to start" >&2; exit 1; }
  sleep 0.5
done
export FRONTDOOR_ACTION_URL="http://127.0.0.1:$port/webhook"
export FRONTDOOR_TRACKER_DB="$PWD/$out/tracker.db"
echo "[rasa-test] running test stories in tests/rasa (action server on port $port)" >&2
.venv-rasa/bin/rasa test core --stories tests/rasa --model models/frontdoor.tar.gz --endpoints endpoints.yml \
  --out "$out/results" --fail-on-prediction-errors >"$out/rasa_test.log" 2>&1 \
  || { tail -n 60 "$out/rasa_test.log" >&2; echo "[rasa-test] FAILED: see $out/results/failed_test_stories.yml" >&2; exit 1; }
grep -E "Correct:|Accuracy|F1-Score" "$out/rasa_test.log" | head -n 6 >&2 || true
echo "[rasa-test] all test stories passed" >&2
