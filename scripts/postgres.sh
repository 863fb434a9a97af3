#!/usr/bin/env bash
# Local PostgreSQL for the PostgreSQL test mode (`make test-postgres`).
#
#   bash scripts/postgres.sh start   # install if needed, start, create role/db, print URL
#   bash scripts/postgres.sh stop    # stop the cluster
#   bash scripts/postgres.sh url     # print the URL only
#
# `start` prints only the database URL on stdout (progress goes to stderr), so
#   export PREFECT_SDK_TEST_DATABASE_URL="$(bash scripts/postgres.sh start)"
# works. Debian/Ubuntu only (pg_ctlcluster); meant to run as root, without systemd.
set -euo pipefail

readonly PG_HOST=127.0.0.1
readonly PG_PORT=5432
readonly PG_CLUSTER=main
readonly DB_USER=prefect
readonly DB_PASSWORD=prefect
readonly DB_NAME=prefect_sdk_test
readonly DB_URL="postgresql+asyncpg://${DB_USER}:${DB_PASSWORD}@${PG_HOST}:${PG_PORT}/${DB_NAME}"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO_ROOT
readonly VENV_PYTHON="${VENV_PYTHON:-${REPO_ROOT}/.venv/bin/python}"

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

as_postgres() {
    if command -v runuser >/dev/null 2>&1; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && su postgres -s /bin/sh -c "$(printf '%q ' "$@")")
    fi
}

ensure_installed() {
    if command -v pg_ctlcluster >/dev/null 2>&1 && compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
        return
    fi
    [[ $(id -u) -eq 0 ]] || die "PostgreSQL is not installed and we are not root; install Debian's 'postgresql' package"
    log "installing Debian's postgresql package"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
}

# Newest installed major version, e.g. "15".
pg_version() {
    local newest
    newest="$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort -V | tail -n 1)"
    [[ -n $newest ]] || die "no PostgreSQL server under /usr/lib/postgresql"
    printf '%s\n' "$newest"
}

# Prints "<port> <status>" of the cluster, or nothing if it does not exist.
cluster_info() {
    pg_lsclusters --no-header 2>/dev/null | awk -v v="$1" -v c="$PG_CLUSTER" '$1 == v && $2 == c { print $3, $4 }'
}

ensure_running() {
    local version info port status
    version="$(pg_version)"
    info="$(cluster_info "$version")"
    if [[ -z $info ]]; then
        log "creating cluster ${version}/${PG_CLUSTER} on port ${PG_PORT}"
        pg_createcluster --port "$PG_PORT" "$version" "$PG_CLUSTER" >&2
        info="$(cluster_info "$version")"
    fi
    read -r port status <<<"$info"
    [[ $port == "$PG_PORT" ]] || die "cluster ${version}/${PG_CLUSTER} uses port ${port}, expected ${PG_PORT}"
    if [[ $status != online* ]]; then
        log "starting cluster ${version}/${PG_CLUSTER}"
        pg_ctlcluster "$version" "$PG_CLUSTER" start >&2
    fi
    local _
    for _ in $(seq 1 60); do
        if pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
            return
        fi
        sleep 0.5
    done
    die "PostgreSQL did not accept connections on ${PG_HOST}:${PG_PORT} within 30 s"
}

psql_admin() {
    as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" "$@"
}

ensure_role_and_database() {
    if [[ -z $(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '${DB_USER}'") ]]; then
        log "creating role ${DB_USER}"
        psql_admin -c "CREATE ROLE ${DB_USER} LOGIN PASSWORD '${DB_PASSWORD}'"
    else
        psql_admin -c "ALTER ROLE ${DB_USER} LOGIN PASSWORD '${DB_PASSWORD}'"
    fi
    if [[ -z $(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '${DB_NAME}'") ]]; then
        log "creating database ${DB_NAME}"
        psql_admin -c "CREATE DATABASE ${DB_NAME} OWNER ${DB_USER}"
    fi
    # Fail now (not inside a test) if password login over TCP does not work.
    PGPASSWORD="$DB_PASSWORD" psql -X -q -h "$PG_HOST" -p "$PG_PORT" -U "$DB_USER" -d "$DB_NAME" \
        -tAc 'SELECT 1' >/dev/null || die "cannot log in as ${DB_USER} on ${PG_HOST}:${PG_PORT}"
}

check_asyncpg() {
    if [[ ! -x $VENV_PYTHON ]]; then
        log "warning: ${VENV_PYTHON} not found; skipping the asyncpg check"
    elif ! "$VENV_PYTHON" -c 'import asyncpg' 2>/dev/null; then
        log "warning: asyncpg is not importable by ${VENV_PYTHON}; the Prefect server needs it for PostgreSQL"
    fi
}

cmd_start() {
    ensure_installed
    ensure_running
    ensure_role_and_database
    check_asyncpg
    printf '%s\n' "$DB_URL"
}

cmd_stop() {
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
        log "PostgreSQL is not installed; nothing to stop"
        return
    fi
    local version info status
    version="$(pg_version)"
    info="$(cluster_info "$version")"
    status="${info#* }"
    if [[ -n $info && $status == online* ]]; then
        log "stopping cluster ${version}/${PG_CLUSTER}"
        pg_ctlcluster "$version" "$PG_CLUSTER" stop >&2
    else
        log "cluster ${version}/${PG_CLUSTER} is not running"
    fi
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
url) printf '%s\n' "$DB_URL" ;;
*)
    printf 'usage: %s {start|stop|url}\n' "$0" >&2
    exit 2
    ;;
esac
