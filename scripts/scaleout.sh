#!/usr/bin/env bash
# The scale-out Prefect server (Prefect's documented topology), for `make test-scaleout`:
#
#   PostgreSQL (scripts/postgres.sh), database prefect_sdk_scaleout, made afresh on each start
#   Redis (redis-server): prefect-redis's messaging broker, cache, causal ordering, lease storage
#   API 1, API 2: `prefect server start --no-services`, both on that database and Redis
#   services:     `prefect server services start` (scheduler, event persister, triggers, ...)
#   HAProxy:      round robin over API 1 and 2, health check GET /api/health every 500 ms
#
#   bash scripts/scaleout.sh install          # install what is missing (Debian's packages)
#   bash scripts/scaleout.sh start            # install what is missing, start it all afresh,
#                                             # print the API URL (through HAProxy)
#   bash scripts/scaleout.sh stop             # stop everything it started: nothing left listening
#   bash scripts/scaleout.sh status           # what runs
#   bash scripts/scaleout.sh url              # the API URL
#   bash scripts/scaleout.sh kill-api N       # SIGKILL API process N (1 or 2), its whole group
#   bash scripts/scaleout.sh start-api N      # start API process N again; wait until HAProxy has it
#   bash scripts/scaleout.sh restart-api N    # both
#   bash scripts/scaleout.sh kill-redis       # SIGKILL Redis
#   bash scripts/scaleout.sh start-redis      # start Redis again, on the same port (empty)
#   bash scripts/scaleout.sh restart-redis    # both
#
# `start` prints only the URL on stdout (progress goes to stderr), so
#   export PREFECT_API_URL="$(bash scripts/scaleout.sh start)"
# works. Everything listens on 127.0.0.1 only, on ports free when `start` ran, and every wait is
# bounded. The state (ports, pid files, logs, haproxy.cfg, PREFECT_HOME) is kept in
# $PREFECT_SDK_SCALEOUT_DIR (default /tmp/prefect-sdk-scaleout); `state.env` there has it as
# NAME=value lines. The database's name is $PREFECT_SDK_SCALEOUT_DATABASE (default
# prefect_sdk_scaleout); PostgreSQL is stopped by `stop` only if `start` started it. Debian/Ubuntu (apt-get, pg_ctlcluster); meant to run as root, without systemd.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO_ROOT
readonly STATE_DIR="${PREFECT_SDK_SCALEOUT_DIR:-/tmp/prefect-sdk-scaleout}"
readonly VENV_BIN="${PREFECT_SDK_SCALEOUT_VENV_BIN:-${REPO_ROOT}/.venv/bin}"
readonly PYTHON="${VENV_BIN}/python"
readonly PREFECT="${VENV_BIN}/prefect"
readonly PROBE="${REPO_ROOT}/scripts/scaleout/probe.py"
readonly START_TIMEOUT="${PREFECT_SDK_SCALEOUT_TIMEOUT:-120}" # seconds, for each wait of `start`
readonly MIGRATE_TIMEOUT=300
readonly STOP_GRACE=10 # seconds between SIGTERM and SIGKILL
readonly DB_NAME="${PREFECT_SDK_SCALEOUT_DATABASE:-prefect_sdk_scaleout}"
readonly DB_USER=prefect # the role scripts/postgres.sh makes
readonly DB_PASSWORD=prefect
readonly PG_PORT=5432
readonly DB_URL="postgresql+asyncpg://${DB_USER}:${DB_PASSWORD}@127.0.0.1:${PG_PORT}/${DB_NAME}"
# Started in this order, stopped in the reverse one.
readonly COMPONENTS=(redis api1 api2 services haproxy)
readonly MARKER=.prefect-sdk-scaleout

log() { printf 'scaleout.sh: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# ------------------------------------------------------------------------- installing

ensure_packages() {
    local missing=()
    command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
    command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
    ((${#missing[@]})) || return 0
    [[ $(id -u) -eq 0 ]] || die "${missing[*]} not installed and we are not root; install Debian's packages"
    log "installing Debian's ${missing[*]}"
    # Debian starts a package's service when it is installed; these are started here, on ports
    # of our own, so keep the packages' own (redis on 6379, haproxy, a PostgreSQL cluster) from
    # starting.
    local policy=/usr/sbin/policy-rc.d made_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        made_policy=1
    fi
    local status=0
    apt-get update -qq >&2 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >&2 || status=$?
    ((made_policy)) && rm -f "$policy"
    ((status == 0)) || die "apt-get install ${missing[*]} failed"
}

check_python() {
    [[ -x $PREFECT ]] || die "${PREFECT} not found: run \`make install\` first"
    "$PYTHON" -c 'import prefect_redis, asyncpg' 2>/dev/null ||
        die "prefect-redis or asyncpg is not importable by ${PYTHON}: run \`make install\`"
}

# ---------------------------------------------------------------------- the processes

pid_of() { [[ -f "${STATE_DIR}/$1.pid" ]] && cat "${STATE_DIR}/$1.pid"; }

# The live (not zombie) processes of process group $1, one pid a line. Read from /proc, since a
# killed process whose parent is gone may linger as a zombie that `kill -0` still finds.
group_members() {
    local pgid=$1 stat line pid fields
    for stat in /proc/[0-9]*/stat; do
        { read -r line <"$stat"; } 2>/dev/null || continue
        pid=${line%% *}
        read -r -a fields <<<"${line##*) }" # state ppid pgrp ...
        [[ ${fields[2]:-} == "$pgid" && ${fields[0]} != Z ]] && printf '%s\n' "$pid"
    done
    return 0
}

running() {
    local pid
    pid="$(pid_of "$1")" || return 1
    [[ -n $(group_members "$pid") ]]
}

# Start a component in a process group (and session) of its own, with only the environment
# given (`env -i`), output appended to its log; its pid, which is the group's id, is kept.
launch() {
    local name=$1
    shift
    # In a script (no job control) a background job is no group leader, so setsid(1) does not
    # fork: $! is the component's own pid.
    setsid env -i "$@" </dev/null >>"${STATE_DIR}/${name}.log" 2>&1 &
    printf '%s\n' "$!" >"${STATE_DIR}/${name}.pid"
}

# Signal the component's whole group; SIGTERM first waits up to STOP_GRACE, then SIGKILLs.
stop_component() {
    local name=$1 signal=${2:-TERM} pid deadline
    pid="$(pid_of "$name")" || return 0
    if [[ -n $(group_members "$pid") ]]; then
        kill "-${signal}" -- "-${pid}" 2>/dev/null || true
        deadline=$((SECONDS + STOP_GRACE))
        while [[ -n $(group_members "$pid") ]] && ((SECONDS < deadline)); do sleep 0.1; done
        if [[ -n $(group_members "$pid") ]]; then
            log "${name} did not stop within ${STOP_GRACE} s of SIG${signal}: SIGKILL"
            kill -KILL -- "-${pid}" 2>/dev/null || true
            deadline=$((SECONDS + 5))
            while [[ -n $(group_members "$pid") ]] && ((SECONDS < deadline)); do sleep 0.1; done
        fi
    fi
    [[ -z $(group_members "$pid") ]] || die "${name} (process group ${pid}) is still running"
    rm -f "${STATE_DIR}/${name}.pid"
}

load_state() {
    [[ -f "${STATE_DIR}/state.env" ]] || die "not started (no ${STATE_DIR}/state.env)"
    # shellcheck source=/dev/null
    source "${STATE_DIR}/state.env"
    set_prefect_env
}

# The environment of every Prefect process: the same database, Redis and settings for all.
prefect_env() {
    printf '%s\n' \
        "PATH=${VENV_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        "HOME=${STATE_DIR}/home" \
        "LANG=C.UTF-8" \
        "PYTHONUNBUFFERED=1" \
        "COLUMNS=200" \
        "PREFECT_HOME=${STATE_DIR}/home" \
        "PREFECT_SERVER_DATABASE_CONNECTION_URL=${DB_URL}" \
        "PREFECT_SERVER_DATABASE_MIGRATE_ON_START=false" \
        "PREFECT_MESSAGING_BROKER=prefect_redis.messaging" \
        "PREFECT_MESSAGING_CACHE=prefect_redis.messaging" \
        "PREFECT_SERVER_EVENTS_CAUSAL_ORDERING=prefect_redis.ordering" \
        "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE=prefect_redis.lease_storage" \
        "PREFECT_REDIS_MESSAGING_HOST=127.0.0.1" \
        "PREFECT_REDIS_MESSAGING_PORT=${REDIS_PORT}" \
        "PREFECT_REDIS_MESSAGING_DB=0" \
        "PREFECT_SERVER_DOCKET_URL=redis://127.0.0.1:${REDIS_PORT}/1" \
        "PREFECT_SERVER_ANALYTICS_ENABLED=false" \
        "PREFECT_SERVER_UI_ENABLED=false" \
        "PREFECT_SERVER_API_KEEPALIVE_TIMEOUT=90" \
        "PREFECT_LOGGING_LEVEL=WARNING" \
        "PREFECT_SERVER_LOGGING_LEVEL=WARNING" \
        "PREFECT_CLI_COLORS=false" \
        "PREFECT_CLI_WRAP_LINES=false" \
        "PREFECT_CLI_PROMPT=false"
}

# `env -i` arguments: prefect_env as an array (once the ports are known).
PREFECT_ENV=()
set_prefect_env() { mapfile -t PREFECT_ENV < <(prefect_env); }

start_redis() {
    mkdir -p "${STATE_DIR}/redis"
    launch redis "PATH=/usr/sbin:/usr/bin:/sbin:/bin" "$(command -v redis-server)" \
        --port "$REDIS_PORT" --bind 127.0.0.1 --protected-mode yes \
        --save '' --appendonly no --daemonize no --dir "${STATE_DIR}/redis" --logfile ''
    wait_for "Redis on port ${REDIS_PORT}" redis_ready
}

redis_ready() {
    if command -v redis-cli >/dev/null 2>&1; then
        [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
    else
        [[ -n $("$PYTHON" "$PROBE" listening "$REDIS_PORT") ]]
    fi
}

api_port() { if [[ $1 == 1 ]]; then printf '%s' "$API1_PORT"; else printf '%s' "$API2_PORT"; fi; }

start_api() {
    local n=$1 port
    port="$(api_port "$n")"
    running "api${n}" && die "api${n} is running already"
    launch "api${n}" "${PREFECT_ENV[@]}" "$PREFECT" server start --no-services \
        --host 127.0.0.1 --port "$port"
    wait_for "API ${n} on port ${port}" api_healthy "$port" "api${n}"
}

api_healthy() {
    running "$2" || die "$2 exited; its log: ${STATE_DIR}/$2.log"
    "$PYTHON" "$PROBE" health "http://127.0.0.1:$1/api/health"
}

start_services() {
    launch services "${PREFECT_ENV[@]}" "$PREFECT" server services start
    sleep 2
    running services || die "the services process exited; its log: ${STATE_DIR}/services.log"
}

write_haproxy_config() {
    cat >"${STATE_DIR}/haproxy.cfg" <<EOF
# Written by scripts/scaleout.sh.
global
    log stderr format raw local0 info
    maxconn 4096

defaults
    mode http
    log global
    option httplog
    option dontlognull
    timeout connect 2s
    # Longer than the client's own read timeout (60 s) and its keep-alive (25 s), so HAProxy
    # never closes first; the servers keep idle connections longer still (90 s).
    timeout client 75s
    timeout server 75s
    timeout http-request 15s
    timeout http-keep-alive 75s
    timeout queue 10s
    timeout tunnel 1h
    # A connection to a server that fails (a process just killed, not yet marked DOWN) is
    # tried again on the other server. Only then: retry-on conn-failure, the default, means
    # the request was never sent. HAProxy resends no request a server may have received
    # (no empty-response, response-timeout or 5xx retries): a server that dies mid-request
    # answers 502, and the client, which knows whether its request is safe to send again,
    # decides.
    retries 3
    option redispatch 1
    retry-on conn-failure

frontend prefect
    bind 127.0.0.1:${HAPROXY_PORT}
    default_backend prefect_api

backend prefect_api
    balance roundrobin
    option httpchk GET /api/health
    http-check expect status 200
    default-server inter 500ms fastinter 250ms downinter 500ms fall 2 rise 1
    server api1 127.0.0.1:${API1_PORT} check
    server api2 127.0.0.1:${API2_PORT} check

listen stats
    bind 127.0.0.1:${STATS_PORT}
    stats enable
    stats uri /stats
EOF
    haproxy -c -q -f "${STATE_DIR}/haproxy.cfg" >&2 || die "haproxy refused ${STATE_DIR}/haproxy.cfg"
}

start_haproxy() {
    launch haproxy "PATH=/usr/sbin:/usr/bin:/sbin:/bin" "$(command -v haproxy)" -db \
        -f "${STATE_DIR}/haproxy.cfg"
}

# Wait until HAProxy answers /api/health and has `servers` API processes UP.
wait_for_haproxy() {
    local servers=$1
    "$PYTHON" "$PROBE" wait "${API_URL}/health" "http://127.0.0.1:${STATS_PORT}/stats" \
        "$servers" "$START_TIMEOUT" ||
        die "HAProxy did not have ${servers} API process(es) up within ${START_TIMEOUT} s"
}

# wait_for WHAT COMMAND...: run COMMAND every 0.25 s until it succeeds, for START_TIMEOUT s.
wait_for() {
    local what=$1 deadline=$((SECONDS + START_TIMEOUT))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || die "${what} not ready within ${START_TIMEOUT} s"
        sleep 0.25
    done
}

# ------------------------------------------------------------------------ PostgreSQL

as_postgres() { (cd / && runuser -u postgres -- "$@"); }

pg_online() {
    pg_lsclusters --no-header 2>/dev/null | awk -v p="$PG_PORT" '$3 == p && $4 ~ /^online/' | grep -q .
}

fresh_database() {
    [[ $DB_NAME =~ ^[a-z_][a-z0-9_]*$ ]] || die "database name '${DB_NAME}': lower-case letters, digits, _"
    bash "${REPO_ROOT}/scripts/postgres.sh" start >/dev/null
    log "making database ${DB_NAME} afresh"
    as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" \
        -c "DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)" \
        -c "CREATE DATABASE ${DB_NAME} OWNER ${DB_USER}" >&2
}

# --------------------------------------------------------------------------- commands

cmd_start() {
    ensure_packages
    check_python
    if [[ -f "${STATE_DIR}/state.env" ]]; then
        log "stopping what an earlier start left"
        cmd_stop
    fi
    # A state directory is only ever one this script made (it holds the marker file).
    if [[ -e $STATE_DIR ]]; then
        [[ -f "${STATE_DIR}/${MARKER}" ]] ||
            die "${STATE_DIR} exists and is not a scale-out state directory: not touching it"
        rm -rf "$STATE_DIR"
    fi
    mkdir -p "${STATE_DIR}/home"
    : >"${STATE_DIR}/${MARKER}"
    trap 'on_start_failure' EXIT

    # Stop PostgreSQL on `stop` only if it is this script that starts it.
    STARTED_POSTGRES=1
    pg_online && STARTED_POSTGRES=0
    local ports=()
    mapfile -t ports < <("$PYTHON" "$PROBE" free-ports 5)
    REDIS_PORT=${ports[0]} API1_PORT=${ports[1]} API2_PORT=${ports[2]}
    HAPROXY_PORT=${ports[3]} STATS_PORT=${ports[4]}
    API_URL="http://127.0.0.1:${HAPROXY_PORT}/api"
    cat >"${STATE_DIR}/state.env" <<EOF
SCALEOUT_DIR=${STATE_DIR}
API_URL=${API_URL}
DATABASE_URL=${DB_URL}
REDIS_PORT=${REDIS_PORT}
API1_PORT=${API1_PORT}
API2_PORT=${API2_PORT}
HAPROXY_PORT=${HAPROXY_PORT}
STATS_PORT=${STATS_PORT}
STARTED_POSTGRES=${STARTED_POSTGRES}
EOF
    set_prefect_env

    fresh_database
    log "starting Redis on 127.0.0.1:${REDIS_PORT}"
    start_redis
    # Once, before any server: two processes migrating a fresh database at once fail
    # (UniqueViolationError on pg_type); the API processes are told not to migrate.
    log "applying Prefect's migrations to ${DB_NAME}"
    timeout "$MIGRATE_TIMEOUT" env -i "${PREFECT_ENV[@]}" "$PREFECT" server database upgrade -y \
        </dev/null >>"${STATE_DIR}/migrate.log" 2>&1 ||
        die "prefect server database upgrade failed; see ${STATE_DIR}/migrate.log"
    # One after the other: the first registers Prefect's block types (each read, then created if
    # missing: two processes at once can both create one).
    local n
    for n in 1 2; do
        log "starting API ${n} on 127.0.0.1:$(api_port "$n")"
        start_api "$n"
    done
    log "starting the services process"
    start_services
    log "starting HAProxy on 127.0.0.1:${HAPROXY_PORT}"
    write_haproxy_config
    start_haproxy
    wait_for_haproxy 2
    trap - EXIT
    log "up: ${API_URL} (state in ${STATE_DIR})"
    printf '%s\n' "$API_URL"
}

on_start_failure() {
    local status=$?
    trap - EXIT
    ((status == 0)) && return
    local name
    for name in migrate "${COMPONENTS[@]}"; do
        if [[ -s "${STATE_DIR}/${name}.log" ]]; then
            log "last lines of ${name}.log:"
            tail -n 15 "${STATE_DIR}/${name}.log" >&2 || true
        fi
    done
    log "start failed: stopping what it started"
    cmd_stop || true
    exit "$status"
}

cmd_stop() {
    if [[ ! -f "${STATE_DIR}/state.env" ]]; then
        log "nothing to stop (no ${STATE_DIR}/state.env)"
        return
    fi
    load_state
    local i name
    for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
        name=${COMPONENTS[i]}
        if running "$name"; then
            log "stopping ${name}"
        fi
        stop_component "$name"
    done
    if [[ ${STARTED_POSTGRES:-0} == 1 ]]; then
        bash "${REPO_ROOT}/scripts/postgres.sh" stop
    fi
    local left
    left="$("$PYTHON" "$PROBE" listening "$REDIS_PORT" "$API1_PORT" "$API2_PORT" "$HAPROXY_PORT" \
        "$STATS_PORT" | tr '\n' ' ')"
    [[ -z ${left// /} ]] || die "still listening after stop: ${left}"
    rm -f "${STATE_DIR}/state.env"
    log "stopped"
}

cmd_status() {
    if [[ ! -f "${STATE_DIR}/state.env" ]]; then
        echo "not started"
        return 3
    fi
    load_state
    local name pid down=0 up=0
    declare -A port=([redis]=$REDIS_PORT [api1]=$API1_PORT [api2]=$API2_PORT
        [services]=- [haproxy]=$HAPROXY_PORT)
    declare -A balancer=()
    if running haproxy; then
        while read -r server status; do
            balancer[$server]=$status
        done < <("$PYTHON" "$PROBE" backends "http://127.0.0.1:${STATS_PORT}/stats" 2>/dev/null)
    fi
    for name in "${COMPONENTS[@]}"; do
        pid="$(pid_of "$name" || echo -)"
        if running "$name"; then
            up=$((up + 1))
            printf '%-9s running  pid %-8s port %-6s %s\n' "$name" "$pid" "${port[$name]}" \
                "${balancer[$name]:+(haproxy: ${balancer[$name]})}"
        else
            down=$((down + 1))
            printf '%-9s stopped  %s\n' "$name" "${balancer[$name]:+(haproxy: ${balancer[$name]})}"
        fi
    done
    printf '%-9s %s\n' postgresql "$(pg_online && echo "online on 127.0.0.1:${PG_PORT}, database ${DB_NAME}" || echo offline)"
    printf 'url       %s\n' "$API_URL"
    ((down == 0)) && return 0
    ((up == 0)) && return 3
    return 1
}

api_number() {
    [[ ${1:-} == 1 || ${1:-} == 2 ]] || die "which API process: 1 or 2, not '${1:-}'"
}

cmd_kill_api() {
    api_number "${1:-}"
    load_state
    stop_component "api$1" KILL
    log "api$1 killed"
}

cmd_start_api() {
    api_number "${1:-}"
    load_state
    start_api "$1"
    running haproxy && wait_for_haproxy 2
    log "api$1 up"
}

cmd_kill_redis() {
    load_state
    stop_component redis KILL
    log "Redis killed"
}

cmd_start_redis() {
    load_state
    running redis && die "Redis is running already"
    start_redis
    log "Redis up on 127.0.0.1:${REDIS_PORT}"
}

case "${1:-}" in
install)
    ensure_packages
    check_python
    ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
url)
    load_state
    printf '%s\n' "$API_URL"
    ;;
kill-api) cmd_kill_api "${2:-}" ;;
start-api) cmd_start_api "${2:-}" ;;
restart-api)
    cmd_kill_api "${2:-}"
    cmd_start_api "${2:-}"
    ;;
kill-redis) cmd_kill_redis ;;
start-redis) cmd_start_redis ;;
restart-redis)
    cmd_kill_redis
    cmd_start_redis
    ;;
*)
    printf 'usage: %s {install|start|stop|status|url|kill-api N|start-api N|restart-api N|kill-redis|start-redis|restart-redis}\n' "$0" >&2
    exit 2
    ;;
esac
