#!/bin/bash
# The measured sweep, as run on the device machine's CPUs (GRPO: 2 threads per run, no GPU) with the
# bases pretrained on its GPU. Usage: bash reports/r1zero_tiny/device_run.sh OUTDIR GRPO_SECONDS [extra -o ...]
set -u
OUTDIR=$1; SECS=$2; shift 2
EXTRA=("$@")
W=${WORK:-/tmp/r1z}
mkdir -p $W "$OUTDIR"
PY=${PY:-python3}
T0=$(date +%s)
for s in 0 1 2; do
  $PY reports/r1zero_tiny/sweep.py base --seed $s --work $W "${EXTRA[@]}" > "$OUTDIR/base$s.log" 2>&1 &
done
wait
echo "bases done after $(( $(date +%s) - T0 )) s"; tail -n 2 "$OUTDIR"/base*.log
for cfg in "lr3e-4 3.0e-4" "lr1e-3 1.0e-3"; do
  read -r TAG LR <<< "$cfg"
  for s in 0 1 2; do
    CUDA_VISIBLE_DEVICES= OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 $PY reports/r1zero_tiny/sweep.py grpo --seed $s \
      --work $W --tag $TAG -o grpo.trl.learning_rate=$LR -o grpo_time_limit_s=$SECS "${EXTRA[@]}" \
      > "$OUTDIR/grpo_${TAG}_seed$s.log" 2>&1 &
  done
done
wait
echo "grpo done after $(( $(date +%s) - T0 )) s"
for f in "$OUTDIR"/grpo_*.log; do echo "== $f"; grep '"phase"' "$f" || tail -n 5 "$f"; done
for tag in lr3e-4 lr1e-3; do
  tar -czf "$OUTDIR/stores_$tag.tgz" -C $W $(cd $W && ls -d $tag/seed*/store)
done
tar -czf "$OUTDIR/logs.tgz" -C "$OUTDIR" $(cd "$OUTDIR" && ls *.log)
ls -la "$OUTDIR"
