#!/usr/bin/env bash
# Back up farmgate: the PostgreSQL database (pg_dump custom format) and the media directory
# (a tarball), with per-file media checksums, a manifest and a SHA256SUMS over everything.
#
#   infra/backup.sh [--database-url URL] [--media-dir DIR] BACKUP_ROOT
#
# URL and DIR default to FARMGATE_DATABASE_URL and FARMGATE_MEDIA_DIR, the variables the app
# itself reads. Writes BACKUP_ROOT/farmgate-<UTC time>/ and prints that path as the last line
# of its output; an interrupted run leaves only a hidden .partial-* directory, never something
# that looks like a complete backup. Restore with infra/restore.sh (see infra/README.md).
#
# Needs pg_dump and psql of the server's major version or newer, GNU tar, gzip, sha256sum.
set -euo pipefail

FORMAT="farmgate-backup/1"

usage() {
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
}

die() {
  echo "backup.sh: $*" >&2
  exit 1
}

# libpq wants postgresql://; the app also accepts SQLAlchemy's postgresql+psycopg://.
libpq_url() {
  local url="$1"
  case "$url" in
    postgresql+*://*) echo "postgresql://${url#*://}" ;;
    postgresql://* | postgres://*) echo "$url" ;;
    sqlite*) die "the database is SQLite ($url): this script backs up PostgreSQL; copy a SQLite file with: sqlite3 FILE \".backup OUT\"" ;;
    *) die "not a PostgreSQL URL: $(mask "$url")" ;;
  esac
}

# The URL with its password replaced, for messages and the manifest.
mask() {
  sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#' <<<"$1"
}

database_url="${FARMGATE_DATABASE_URL:-}"
media_dir="${FARMGATE_MEDIA_DIR:-}"
root=""
while [ $# -gt 0 ]; do
  case "$1" in
    --database-url) database_url="${2:?--database-url needs a value}"; shift 2 ;;
    --media-dir) media_dir="${2:?--media-dir needs a value}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$root" ] || die "one BACKUP_ROOT only"; root="$1"; shift ;;
  esac
done
[ -n "$root" ] || die "give the directory to write the backup under (see --help)"
[ -n "$database_url" ] || die "no database: pass --database-url or set FARMGATE_DATABASE_URL"
[ -n "$media_dir" ] || die "no media directory: pass --media-dir or set FARMGATE_MEDIA_DIR"
[ -d "$media_dir" ] || die "media directory $media_dir does not exist"
for tool in pg_dump psql tar gzip sha256sum; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
url="$(libpq_url "$database_url")"

mkdir -p "$root"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
final="$root/farmgate-$stamp"
[ ! -e "$final" ] || die "$final already exists (two backups in the same second?)"
# mktemp -d makes it private (0700): the dump holds personal data and password hashes.
work="$(mktemp -d "$root/.partial-farmgate-$stamp.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Reading the revision first also proves the database answers before anything is written.
revision="$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$url" \
  -c "SELECT string_agg(version_num, ',' ORDER BY version_num) FROM alembic_version")" ||
  die "cannot read the schema revision from $(mask "$url") (is it a migrated farmgate database?)"
server_version="$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$url" -c "SHOW server_version")"

# 1. The database. pg_dump reads one consistent snapshot, so the rows, the search_entry
#    documents and the outbox agree with each other, whatever runs meanwhile.
pg_dump --format=custom --compress=6 --file="$work/database.dump" "$url"

# 2. The media, after the database: a photo's files are written before the row naming them
#    commits, so every file the dump refers to is already on disk. Files never change once
#    written (new uploads get new random names); .upload-* are half-written uploads.
(
  cd "$media_dir"
  find . -type f ! -name '.upload-*' ! -path './.restore-*' -print0 | LC_ALL=C sort -z >"$work/media.list"
  xargs -0 -r sha256sum <"$work/media.list" >"$work/media.sha256"
  # A photo deleted between the listing and the tarball makes tar fail: run the backup again.
  tar --create --gzip --file="$work/media.tar.gz" --numeric-owner --no-recursion \
    --null --files-from="$work/media.list" ||
    die "the media directory changed while it was archived; run the backup again"
)
media_files="$(wc -l <"$work/media.sha256" | tr -d ' ')"
media_bytes="$(cd "$media_dir" && xargs -0 -r stat -c %s <"$work/media.list" | awk '{s += $1} END {print s + 0}')"
rm "$work/media.list"

# 3. What this is, and checksums over all of it (restore.sh refuses a backup that fails them).
cat >"$work/MANIFEST" <<EOF
format=$FORMAT
created_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
database=$(mask "$url")
server_version=$server_version
pg_dump_version=$(pg_dump --version)
alembic_revision=$revision
media_files=$media_files
media_bytes=$media_bytes
EOF
(cd "$work" && sha256sum MANIFEST database.dump media.sha256 media.tar.gz >SHA256SUMS)

mv "$work" "$final"
trap - EXIT
echo "backup.sh: database $(mask "$url") at revision $revision, $media_files media files" >&2
echo "$final"
