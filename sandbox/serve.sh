#!/usr/bin/env bash
# Start the sandbox service: make sure bubblewrap/g++ are there (where we can install them), then serve.
# Usage: sandbox/serve.sh [--port 8731] [--slots N] [--config sandbox/limits.yaml]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bash "$here/scripts/install-system-deps.sh"
r1h="$here/.venv/bin/r1h"
[ -x "$r1h" ] || r1h="r1h"
exec "$r1h" -v sandbox serve --config "$here/sandbox/limits.yaml" "$@"
