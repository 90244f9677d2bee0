#!/usr/bin/env bash
# Train the two shipped default models on the packed protocol data (benchmarks/pack.py), both at once.
# Usage: benchmarks/train_defaults.sh PACK OUT [MINUTES] [PYTHON]   (run on a CUDA machine; CPU works, slowly)
set -euo pipefail
PACK=$1; OUT=$2; MINUTES=${3:-8}; PY=${4:-python3}
mkdir -p "$OUT"
"$PY" -m training -q train-gender "$PACK/facecom" "$PACK/gender_extra.csv" --no-crop-faces \
  --input-size 112 --batch-size 128 --epochs 40 --lr 2e-3 --patience 12 --label-smoothing 0.1 \
  --workers 5 --time-limit "$MINUTES" --out-dir "$OUT" --run-name gender > "$OUT/gender.out" 2>&1 &
"$PY" -m training -q train-matcher "$PACK/lfw" --no-crop-faces \
  --input-size 112 --batch-size 256 --epochs 24 --pairs-per-epoch 16000 --val-pairs 2000 --lr 2e-3 \
  --patience 8 --workers 10 --time-limit "$MINUTES" --out-dir "$OUT" --run-name matcher > "$OUT/matcher.out" 2>&1 &
wait
