#!/usr/bin/env bash
# Restore a backup made by infra/backup.sh into a fresh PostgreSQL database and media directory,
# then bring the schema to the code's head and rebuild the search index.
#
#   infra/restore.sh [--database-url URL] [--media-dir DIR] [--force] [--skip-app-steps] BACKUP
#
# URL and DIR default to FARMGATE_DATABASE_URL and FARMGATE_MEDIA_DIR. The database must exist
# (createdb) and be empty, the media directory must be empty or absent; --force replaces what
# they hold instead (everything in the database's public schema and in the media directory).
# Nothing is changed unless every checksum of the backup verifies. After the restore it runs
# `farmgate db upgrade` and `farmgate search reindex` against the restored database (with the
# search settings of the environment: Meilisearch when FARMGATE_MEILI_URL is set); pass
# --skip-app-steps to run them yourself, e.g. from another container.
#
# Stop the web and worker processes first: they must not write while the data is replaced.
set -euo pipefail

FORMAT="farmgate-backup/1"
FILES=(MANIFEST database.dump media.sha256 media.tar.gz)

usage() {
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
}

die() {
  echo "restore.sh: $*" >&2
  exit 1
}

refuse() {
  echo "restore.sh: refusing to restore: $*" >&2
  exit 2
}

libpq_url() {
  local url="$1"
  case "$url" in
    postgresql+*://*) echo "postgresql://${url#*://}" ;;
    postgresql://* | postgres://*) echo "$url" ;;
    *) die "not a PostgreSQL URL: $(mask "$url")" ;;
  esac
}

mask() {
  sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#' <<<"$1"
}

database_url="${FARMGATE_DATABASE_URL:-}"
media_dir="${FARMGATE_MEDIA_DIR:-}"
force=0
app_steps=1
backup=""
while [ $# -gt 0 ]; do
  case "$1" in
    --database-url) database_url="${2:?--database-url needs a value}"; shift 2 ;;
    --media-dir) media_dir="${2:?--media-dir needs a value}"; shift 2 ;;
    --force) force=1; shift ;;
    --skip-app-steps) app_steps=0; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$backup" ] || die "one BACKUP only"; backup="$1"; shift ;;
  esac
done
[ -n "$backup" ] || die "give the backup directory to restore (see --help)"
[ -d "$backup" ] || die "$backup is not a directory"
[ -n "$database_url" ] || die "no database: pass --database-url or set FARMGATE_DATABASE_URL"
[ -n "$media_dir" ] || die "no media directory: pass --media-dir or set FARMGATE_MEDIA_DIR"
for tool in pg_restore psql tar gzip sha256sum; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
if [ "$app_steps" = 1 ] && ! command -v farmgate >/dev/null; then
  die "the farmgate command is not on PATH: run this where farmgate is installed, or pass --skip-app-steps and run \`farmgate db upgrade\` and \`farmgate search reindex\` yourself"
fi
url="$(libpq_url "$database_url")"
backup="$(cd "$backup" && pwd)"

# --- 1. Is the backup whole and unaltered? Nothing has been touched yet. -------------------
[ -f "$backup/SHA256SUMS" ] || refuse "$backup has no SHA256SUMS (not a backup.sh backup, or incomplete)"
for f in "${FILES[@]}"; do
  [ -f "$backup/$f" ] || refuse "$backup/$f is missing"
  # Every file must be covered, or removing its line would hide a change.
  grep -Eq "^[0-9a-f]{64} [ *]$f\$" "$backup/SHA256SUMS" ||
    refuse "SHA256SUMS in $backup does not cover $f"
done
if ! failed="$(cd "$backup" && sha256sum --check --strict SHA256SUMS 2>&1)"; then
  refuse "checksum mismatch in $backup, the backup is damaged or was altered:
$(grep -v ': OK$' <<<"$failed")"
fi
grep -qx "format=$FORMAT" "$backup/MANIFEST" ||
  refuse "$backup/MANIFEST is not format $FORMAT"
pg_restore --list "$backup/database.dump" >/dev/null ||
  refuse "$backup/database.dump is not a readable pg_dump archive"

# --- 2. Are the targets empty (or may they be replaced)? -----------------------------------
relations="$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$url" -c "
  SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'")" ||
  die "cannot connect to $(mask "$url"); create the database first (createdb) and check the URL"
if [ "$relations" != 0 ] && [ "$force" = 0 ]; then
  refuse "the database $(mask "$url") is not empty ($relations tables, views or sequences).
Restore into a fresh database (createdb NAME), or pass --force to replace everything in it."
fi
mkdir -p "$media_dir"
media_dir="$(cd "$media_dir" && pwd)"
if [ -n "$(find "$media_dir" -mindepth 1 -maxdepth 1 ! -name '.restore-*' -print -quit)" ] &&
  [ "$force" = 0 ]; then
  refuse "the media directory $media_dir is not empty.
Restore into an empty directory, or pass --force to replace its contents."
fi

# --- 3. Unpack the media beside the live files and check every one of them. -----------------
staging="$(mktemp -d "$media_dir/.restore-XXXXXX")"
trap 'rm -rf "$staging"' EXIT
tar --extract --gzip --file="$backup/media.tar.gz" --directory="$staging" --no-same-owner
if [ -s "$backup/media.sha256" ] &&
  ! failed="$(cd "$staging" && sha256sum --check --strict "$backup/media.sha256" 2>&1)"; then
  refuse "media files in $backup do not match media.sha256:
$(grep -v ': OK$' <<<"$failed")"
fi
expected="$(wc -l <"$backup/media.sha256" | tr -d ' ')"
unpacked="$(find "$staging" -type f | wc -l | tr -d ' ')"
[ "$expected" = "$unpacked" ] ||
  refuse "media.tar.gz holds $unpacked files but media.sha256 lists $expected"

# --- 4. The database: all or nothing. -------------------------------------------------------
if [ "$relations" != 0 ]; then
  echo "restore.sh: --force: dropping everything in the public schema of $(mask "$url")" >&2
  psql -X -q -v ON_ERROR_STOP=1 -d "$url" \
    -c "SET client_min_messages TO warning" \
    -c "DROP SCHEMA public CASCADE" -c "CREATE SCHEMA public" >/dev/null
fi
# --no-owner/--no-privileges: the target's role need not be the one that made the backup.
pg_restore --no-owner --no-privileges --exit-on-error --single-transaction \
  --dbname="$url" "$backup/database.dump"

# --- 5. The media: move the checked files into place. ---------------------------------------
if [ "$force" = 1 ]; then
  find "$media_dir" -mindepth 1 -maxdepth 1 ! -path "$staging" -exec rm -rf {} +
fi
find "$staging" -mindepth 1 -maxdepth 1 -exec mv -t "$media_dir" {} +
rm -rf "$staging"
trap - EXIT

# --- 6. Schema to the code's head, search index rebuilt from the restored products. ---------
if [ "$app_steps" = 1 ]; then
  export FARMGATE_DATABASE_URL="$url" FARMGATE_MEDIA_DIR="$media_dir"
  farmgate db upgrade
  farmgate search reindex
else
  echo "restore.sh: now run \`farmgate db upgrade\` and \`farmgate search reindex\` against it" >&2
fi
echo "restore.sh: restored $backup into $(mask "$url") and $media_dir" >&2
