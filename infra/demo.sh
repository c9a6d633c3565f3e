#!/usr/bin/env bash
# Install farmgate into ./.venv and start the demo: SQLite file, embedded search and jobs,
# no other server. Prints the URL to open.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
exec .venv/bin/farmgate demo "$@"
