#!/usr/bin/env bash
# `make rasa-test`: Rasa's end-to-end test stories against the trained model. `--e2e` makes Rasa run
# NLU on the user text of each story (without it, intents are taken from the story and NLU is never
# tested). Custom actions are not executed by `rasa test`: the stories spell out their slot events.
set -euo pipefail
cd "$(dirname "$0")/.."
out=var/rasa-test
mkdir -p "$out" var/tmp
export FRONTDOOR_ACTION_URL="http://127.0.0.1:9/webhook"  # never called by rasa test
export FRONTDOOR_ACTION_TOKEN="unused-by-rasa-test"  # endpoints.yml names it
export FRONTDOOR_TRACKER_DB="$PWD/$out/tracker.db"
echo "[rasa-test] running the test stories in tests/rasa" >&2
.venv-rasa/bin/rasa test core --e2e --stories tests/rasa --model models/frontdoor.tar.gz --endpoints endpoints.yml \
  --out "$out/results" --fail-on-prediction-errors >"$out/rasa_test.log" 2>&1 \
  || { tail -n 60 "$out/rasa_test.log" >&2; echo "[rasa-test] FAILED: see $out/results/failed_test_stories.yml" >&2; exit 1; }
grep -E "Correct:|Accuracy|F1-Score" "$out/rasa_test.log" | head -n 6 >&2 || true
echo "[rasa-test] all test stories passed" >&2
