#!/usr/bin/env bash
# The proxy benchmark behind the README's results: oracle annotator, default backbone.
# Usage: scripts/bench_proxy.sh [OUT_DIR]   (hours on 2 cores; each step writes its own JSON)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench-results/proxy}
tasks=../shared/bench/tasks
five=(--task "$tasks/sst2-positive" --task "$tasks/agnews-sports" --task "$tasks/laptop-aspects"
      --task "$tasks/conll-persons" --task "$tasks/ncbi-diseases")
mkdir -p "$out"
falconer bench proxy "${five[@]}" --n 256 --seed 0 --seed 1 --seed 2 --json "$out/n256.json"
falconer bench proxy "${five[@]}" --n 256 --seed 0 --multitask --json "$out/n256-multitask.json"
falconer bench proxy "${five[@]}" --n 64 --seed 0 --json "$out/n64.json"
falconer bench proxy "${five[@]}" --n 1024 --seed 0 --json "$out/n1024.json"
