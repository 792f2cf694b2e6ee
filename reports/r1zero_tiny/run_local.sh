#!/bin/bash
# The measured runs of the second attempt, on the shared 2-core dev box (no GPU, no device machine).
#   bash reports/r1zero_tiny/run_local.sh WORK TAG GRPO_SECONDS [extra -o KEY=VALUE ...]
# One base (seed 0, or BASE=0c: continued by continue_base.py) pretrained once, then GRPO seeds 0,1,2 from it side by side, one
# torch thread each (the 2 cores are shared; three 1-thread runs finish in one budget instead of three).
set -u
W=$1; TAG=$2; SECS=$3; shift 3
EXTRA=("$@")
PY=${PY:-.venv/bin/python}
mkdir -p "$W"
[ -f "$W/bases/seed0/base/config.json" ] || nice -n 5 $PY reports/r1zero_tiny/sweep.py base --seed 0 --work "$W" \
    "${EXTRA[@]}" > "$W/base0.log" 2>&1
T0=$(date +%s)
for s in 0 1 2; do
  OMP_NUM_THREADS=1 nice -n 5 $PY reports/r1zero_tiny/sweep.py grpo --seed $s --base-seed ${BASE:-0} --work "$W" --tag "$TAG" \
    -o grpo.threads=1 -o grpo_time_limit_s=$SECS "${EXTRA[@]}" > "$W/grpo_${TAG}_seed$s.log" 2>&1 &
done
wait
echo "grpo done after $(( $(date +%s) - T0 )) s"
for s in 0 1 2; do grep '"phase"' "$W/grpo_${TAG}_seed$s.log" || tail -n 5 "$W/grpo_${TAG}_seed$s.log"; done
