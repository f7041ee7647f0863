#!/usr/bin/env bash
# Set up and run the checks and the test suite (offline; ~15 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check -e ".[dev]"
ruff check src tests
mypy
lint-imports
python3 -m pytest -q
