#!/usr/bin/env bash
# A campaign candidate measured as the shipped matcher was, before shipping it (issue 17):
#
#   benchmarks/measure_matcher.sh .devdata/runs/s8r/last.pt .devdata/measure/s8r
#   benchmarks/measure_matcher.sh resources/models/matcher.pt .devdata/measure/shipped --exported
#   TIE_HEAD=1 CALIBRATE=1 benchmarks/measure_matcher.sh .devdata/runs/s9/last.pt .devdata/measure/s9_cal
#
# 1. its validation score distributions (the slider's error rates) added when the checkpoint lacks them
#    (benchmarks.score_rates; a run writes them only for the epoch it ends on as best); with TIE_HEAD=1 the pair
#    head is tied first, with CALIBRATE=1 calibrated on the validation pairs, and the threshold re-picked
#    (score_rates --tie-head, --calibrate);
# 2. the fp16 export the app would bundle (python -m training export --half), OUT/matcher.pt;
# 3. V1, V1-same-photo and speed with the stress conditions (benchmarks.run), 1:N on clean probes
#    (benchmarks.identify) and the slider / by-gender checks (benchmarks.matcher_checks), each printing its
#    table and writing OUT/*.json.
# Ship by copying OUT/matcher.pt to resources/models/matcher.pt, then update the card. Pause the campaign
# (kill -STOP) for figures of speed; the accuracy figures do not depend on it.
set -euo pipefail
CHECKPOINT=$1
OUT=$2
EXPORTED=${3:-}
DATA=${DATA:-../shared/data}
BANK=${BANK:-.devdata/bank80_aligned.npz}
PY=${PYTHON:-python}
mkdir -p "$OUT"
if [ "$EXPORTED" = --exported ]; then
  cp -- "$CHECKPOINT" "$OUT/matcher.pt"
else
  "$PY" -m benchmarks.score_rates "$CHECKPOINT" "$BANK" -o "$OUT/rates.pt" ${TIE_HEAD:+--tie-head} \
    ${CALIBRATE:+--calibrate}
  "$PY" -m training export "$OUT/rates.pt" "$OUT/matcher.pt" --half
fi
"$PY" -m benchmarks.run "$DATA" --matcher "$OUT/matcher.pt" --protocols v1,v1same,speed --stress \
  --json "$OUT/v1.json" | tee "$OUT/v1.txt"
"$PY" -m benchmarks.identify "$DATA" --matcher "$OUT/matcher.pt" --conditions none --json "$OUT/identify.json" \
  | tee "$OUT/identify.txt"
"$PY" -m benchmarks.matcher_checks "$DATA" --matcher "$OUT/matcher.pt" --json "$OUT/checks.json" | tee "$OUT/checks.txt"
