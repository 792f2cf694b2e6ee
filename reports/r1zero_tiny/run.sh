#!/bin/bash
# The measured runs of the third attempt (README.md): `r1h train r1zero-tiny`, seeds 0, 1, 2 side by side into
# one store, one torch thread each (three 1-thread runs on the 2 cores finish in one budget instead of three),
# then the curves from SQL over that store.
#   bash reports/r1zero_tiny/run.sh [WORK]          (default reports/r1zero_tiny/data/v3; not in git)
set -eu
W=${1:-reports/r1zero_tiny/data/v3}
R1H=${R1H:-.venv/bin/r1h}
mkdir -p "$W"
for s in 0 1 2; do
  /usr/bin/time -v "$R1H" train r1zero-tiny --store "$W/store" --seeds $s --out "$W/runs" \
      --set threads=1 > "$W/seed$s.log" 2>&1 &
done
wait
${PY:-.venv/bin/python} reports/r1zero_tiny/curves.py --out reports/r1zero_tiny "v3=$W/store"
