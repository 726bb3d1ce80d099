#!/usr/bin/env bash
# The one command for a lent GPU machine (torch with CUDA, no network, no Optuna or Ray):
#
#   bash ../shared/tools/gpu-bundle.sh ptb mnist          # here: packs .gpu-bundle/
#   bash benchmarks/gpu_check.sh                          # there, through the device tool
#   bash benchmarks/gpu_check.sh --device cpu --tiny      # here: the dry run at tiny sizes
#
# Installs the carried bundle when there is one, then runs five steps, each under its own time
# budget, writing its JSON (and log) to $OUT as it goes, so a step that fails or runs out of
# time leaves the others' figures:
#   1. pytest -m cuda (all but step 6's)     -> $OUT/cuda_tests.json (junit summary)
#   2. benchmarks/hyperlstm_throughput.py    -> $OUT/hyperlstm_throughput.json
#      (LN HyperLSTM fused, eager and plain against cuDNN's nn.LSTM)
#   3. benchmarks/hypercl_step.py            -> $OUT/hypercl_step.json
#   4. benchmarks/ptb_fixed_time.py (2 min)  -> $OUT/ptb_fixed_time.json
#   5. the captured LN HyperLSTM (the whole sequence as CUDA graphs) against cuDNN and fused
#                                            -> $OUT/hyperlstm_captured.json
#   6. pytest: fused and captured steps on the GPU against the eager CPU (they compile, so apart)
#                                            -> $OUT/compiled_tests.json
# Budgets add up to 9 minutes, leaving the bundle's install time within the device's 10 a
# command; a failed step can be run again alone: `bash benchmarks/gpu_check.sh --only 3`.
set -uo pipefail
cd "$(dirname "$0")/.."
device=cuda; tiny=0; only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device=$2; shift 2 ;;
    --tiny) tiny=1; shift ;;
    --only) only=$2; shift 2 ;;
    *) echo "gpu_check: unknown argument $1 (--device D, --tiny, --only N)" >&2; exit 2 ;;
  esac
done
OUT=${OUT:-$(mktemp -d /tmp/gpu-check-XXXXXX)}
mkdir -p "$OUT"
if [ -f .gpu-bundle/install.sh ] && ! python3 -c "import optuna, ray" 2>/dev/null; then
  bash .gpu-bundle/install.sh > "$OUT/install.log" 2>&1 && . /tmp/hnet-env.sh
fi
py=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
export HNET_TEST_DEVICE=$device PYTHONUNBUFFERED=1
echo "{\"device\": \"$device\", \"tiny\": $tiny, \"started\": \"$(date -u +%FT%TZ)\"}" \
  > "$OUT/check.json"

step() {  # step NUMBER NAME BUDGET_S COMMAND...: run it under its budget, note how it ended
  local number=$1 name=$2 budget=$3; shift 3
  [ -n "$only" ] && [ "$only" != "$number" ] && return 0
  local began=$SECONDS rc
  if [ "$name" = cuda_tests ] || [ "$name" = compiled_tests ]; then
    timeout "$budget" "$@" > "$OUT/$name.log" 2>&1; rc=$?
  else
    timeout "$budget" "$@" > "$OUT/$name.json" 2> "$OUT/$name.log"; rc=$?
  fi
  echo "{\"step\": $number, \"name\": \"$name\", \"rc\": $rc, \"wall_s\": $((SECONDS - began)),"\
       "\"timed_out\": $([ $rc -eq 124 ] && echo true || echo false)}" >> "$OUT/steps.jsonl"
  echo "gpu_check: step $number $name rc=$rc in $((SECONDS - began)) s"
}

if [ $tiny -eq 1 ]; then
  small=(--batch 8 --seq 20 --hidden 64 --hyper 16 --rounds 2)
  lstm=("${small[@]}" --models nn.LSTM ln_hyperlstm_nz4 ln_hyperlstm_nz4_eager)
  captured=(--batch 8 --seq 5 --hidden 64 --hyper 16 --rounds 2
            --models nn.LSTM ln_hyperlstm_nz4_captured)
  cl=(--rounds 1 --steps 1 --taskloop-steps 1 --settings pmnist10)
  ptb=(--seconds 15 --hidden 64 --hyper 16 --batch 8 --eval-windows 5)
else
  lstm=(--batch 128 --rounds 5 --models nn.LSTM ln_hyperlstm_nz4 ln_hyperlstm_nz4_eager
        ln_hyperlstm_nz4_plain)
  captured=(--batch 128 --rounds 5 --models nn.LSTM ln_hyperlstm_nz4 ln_hyperlstm_nz4_captured)
  cl=(--rounds 5)
  ptb=(--seconds 120)
fi
junit_summary() {  # junit_summary NAME: $OUT/NAME.xml -> $OUT/NAME.json
  "$py" - "$OUT" "$1" <<'PY' 2>/dev/null || true
import json, sys, xml.etree.ElementTree as ET
out, name = sys.argv[1], sys.argv[2]
root = ET.parse(f"{out}/{name}.xml").getroot()
suite = root if root.tag == "testsuite" else root[0]
json.dump({k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")},
          open(f"{out}/{name}.json", "w"))
PY
}
compiled_test=compiled_recurrent_paths_agree_with_the_eager_cpu
step 1 cuda_tests 75 "$py" -m pytest -q -m cuda tests/cuda -k "not $compiled_test" \
  --junitxml="$OUT/cuda_tests.xml" -p no:cacheprovider
junit_summary cuda_tests
step 2 hyperlstm_throughput 110 "$py" benchmarks/hyperlstm_throughput.py --device "$device" \
  "${lstm[@]}"
step 3 hypercl_step 45 "$py" benchmarks/hypercl_step.py --device "$device" "${cl[@]}"
step 4 ptb_fixed_time 150 "$py" benchmarks/ptb_fixed_time.py --device "$device" "${ptb[@]}"
step 5 hyperlstm_captured 100 "$py" benchmarks/hyperlstm_throughput.py --device "$device" \
  "${captured[@]}"
step 6 compiled_tests 60 "$py" -m pytest -q -m cuda tests/cuda -k "$compiled_test" \
  --junitxml="$OUT/compiled_tests.xml" -p no:cacheprovider
junit_summary compiled_tests
echo "gpu_check: figures in $OUT"
