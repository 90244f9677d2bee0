#!/usr/bin/env bash
# Second default-gender recipe (GPU run 2): run 1's settings plus weight averaging, all cores for data.
# Usage: benchmarks/train_gender_gpu.sh PACK OUT [MINUTES] [PYTHON]
set -euo pipefail
PACK=$1; OUT=$2; MINUTES=${3:-2.3}; PY=${4:-python3}
mkdir -p "$OUT"
"$PY" -m training -q train-gender "$PACK/facecom" "$PACK/gender_extra.csv" --no-crop-faces \
  --input-size 112 --batch-size 128 --epochs 22 --lr 2e-3 --patience 0 --label-smoothing 0.1 --ema 0.998 \
  --workers 15 --time-limit "$MINUTES" --out-dir "$OUT" --run-name gender > "$OUT/gender.out" 2>&1
