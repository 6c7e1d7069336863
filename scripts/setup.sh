#!/usr/bin/env bash
# Create .venv (if missing) and install dire-dsl with its test extras. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    # torch's CUDA build alone is about 5.5 GB: say so up front rather than fail mid-install.
    free_kb=$(df -Pk . | awk 'NR == 2 {print $4}')
    if [ "$free_kb" -lt $((8 * 1024 * 1024)) ]; then
        echo "error: $(pwd) has $((free_kb / 1024)) MB free; the environment needs about 8 GB (torch is 5.5 GB)." >&2
        echo "Free some disk space (old clones, pip's cache: python3 -m pip cache purge) and run this again." >&2
        exit 1
    fi
    "$PYTHON" -m venv .venv
fi
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
# torch 2.14.1 / torchvision 0.29.1 are the versions this project is tested with.
python -m pip install --quiet "torch==2.14.1" "torchvision==0.29.1"
python -m pip install --quiet -e ".[dev]"
# The web page's browser test (tests/serve/test_page.py) drives Debian's chromium through chromedriver.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "error: chromium and chromium-driver are missing; install them as root:" >&2
        echo "  apt-get update && apt-get install -y chromium chromium-driver" >&2
        exit 1
    fi
    apt-get update --quiet
    DEBIAN_FRONTEND=noninteractive apt-get install --quiet --yes chromium chromium-driver
fi
