#!/usr/bin/env bash
# Install farmgate with its test dependencies into ./.venv, lint, check imports and types,
# and run the whole suite.
# Every data-layer test runs twice: on SQLite and on PostgreSQL at 127.0.0.1:5432
# (FARMGATE_TEST_PG_ADMIN_URL to change it). Set FARMGATE_REQUIRE_PG=1 to fail rather than
# skip when PostgreSQL is not there (CI does).
set -euo pipefail
cd "$(dirname "$0")/.."

# Browser tests drive Debian's Chromium (never a downloaded browser); CJK fonts for screenshots.
# Caddy and shellcheck let tests/test_infra.py validate the proxy config and the scripts.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=""
  for tool in chromium caddy shellcheck; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
  done
  if [ -n "$missing" ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing fonts-noto-cjk >/dev/null
  fi
fi
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
.venv/bin/ruff check farmgate tests bench
.venv/bin/ruff format --check farmgate tests bench
# Which package may import which (.importlinter), then the types.
.venv/bin/lint-imports
.venv/bin/mypy farmgate
exec .venv/bin/pytest "$@"
