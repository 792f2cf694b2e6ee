#!/bin/bash
# The measured runs of the self-evolution miniature (README.md): `r1h train r1zero-tiny --config r1zero_evolve`
# per variant, its seeds side by side (one process and one torch thread per seed), then the report from SQL:
#   main      the config as committed
#   no_check  control: the corpus without self-correcting traces (base.pretrain.traces.check=0)
#   shuffled  control: every reward permuted across the batch's completions (rewards[*].shuffle=true);
#             the store still records the true verdicts, so its curves are real accuracy
# Usage: bash reports/r1zero_evolve/run.sh [WORK] [VARIANTS]   (default reports/r1zero_evolve/data, all three)
#   SEEDS="0 1 2" (default). Each variant writes WORK/VARIANT/store; a rerun resumes finished stages.
set -eu
W=${1:-reports/r1zero_evolve/data}
VARIANTS=${2:-"main no_check shuffled"}
SEEDS=${SEEDS:-"0 1 2"}
R1H=${R1H:-.venv/bin/r1h}
SHUFFLED='[{name: accuracy, verifier: math, weight: 1.0, options: {workers: 1}, shuffle: true},
  {name: format, verifier: format, weight: 0.1, shuffle: true},
  {name: final_number, verifier: final_number, weight: 0.0, shuffle: true}]'
for v in $VARIANTS; do
  case $v in
    main) extra=() ;;
    no_check) extra=(--set base.pretrain.traces.check=0) ;;
    shuffled) extra=(--set "r1zero.rewards=$SHUFFLED") ;;
    *) echo "unknown variant $v (main, no_check, shuffled)" >&2; exit 2 ;;
  esac
  mkdir -p "$W/$v"
  for s in $SEEDS; do
    OMP_NUM_THREADS=1 /usr/bin/time -v "$R1H" train r1zero-tiny --config r1zero_evolve --store "$W/$v/store" \
        --seeds "$s" --out "$W/$v/runs" --set threads=1 "${extra[@]}" > "$W/$v/seed$s.log" 2>&1 &
  done
  wait
done
groups=()
for v in main no_check shuffled; do [ -d "$W/$v/store" ] && groups+=("$v=$W/$v/store"); done
${PY:-.venv/bin/python} reports/r1zero_evolve/report.py --out reports/r1zero_evolve "${groups[@]}"
