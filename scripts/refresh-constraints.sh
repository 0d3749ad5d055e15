#!/usr/bin/env bash
# Resolve the newest releases pyproject.toml allows (runtime, dev and spark extras) in a
# throwaway virtual environment and write their exact versions to constraints.txt, which
# `make` installs from. Run `make test` afterwards: the file is the set the tests passed with.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
"$PYTHON" -m venv "$scratch/venv"
"$scratch/venv/bin/pip" install --quiet --upgrade pip
"$scratch/venv/bin/pip" install --quiet -e '.[dev,spark]'
{
  sed -n '/^#/p' constraints.txt
  "$scratch/venv/bin/pip" freeze --exclude-editable | grep -v '^winback'
} > "$scratch/constraints.txt"
mv "$scratch/constraints.txt" constraints.txt
git --no-pager diff --stat -- constraints.txt || true
