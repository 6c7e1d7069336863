#!/usr/bin/env bash
# Set up (scripts/setup.sh), then run the main job on the built-in default data:
# check the shipped rules files, then `dire demo` (synthesize pushpins → train → eval → report).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
dire check --deny-warnings rules/
dire demo --out demo "$@"
