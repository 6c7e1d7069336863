#!/usr/bin/env bash
# Set up (scripts/setup.sh), then run the main job on the built-in default data:
# check and compile the shipped rules files.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
dire check --deny-warnings rules/
dire fmt --check rules/
for rules in rules/*.rules; do
    dire compile "$rules"
done
