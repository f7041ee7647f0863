#!/usr/bin/env bash
# Set up and run the checks and the test suite (offline, 2 cores; 14.7 minutes on a fresh clone on a bfloat16 VM on 2026-12-04, 16-22 minutes before the test cuts of that day on slower VMs).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check -e ".[dev]"
# The HTML report is checked in a headless browser; Debian packages it (needs root).
if ! command -v chromium-headless-shell >/dev/null && ! command -v chromium >/dev/null \
    && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    chromium-headless-shell) >/dev/null || echo "could not install chromium-headless-shell"
fi
ruff check .
mypy
lint-imports
python3 -m pytest -q --durations=15  # the slowest tests, to keep the suite under 20 minutes
