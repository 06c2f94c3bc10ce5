#!/usr/bin/env bash
# Starts the real backends for local development: PostgreSQL, Redis, RabbitMQ and MinIO, all bound to
# 127.0.0.1 and keeping their state under ./.dev (or $PLINTH_DEV_DIR).
#
#   nix run .#dev-services              start what is not running, print the variables to export
#   eval "$(nix run .#dev-services)"    the same, exporting them into the current shell
#   nix run .#dev-services -- env       print the variables only
#   nix run .#dev-services -- status    say what is running
#   nix run .#dev-services -- stop      stop everything (data is kept; delete ./.dev to start afresh)
#
# Progress goes to stderr and the `export` lines to stdout, so that the output can be eval'd.
set -euo pipefail

DEV_DIR="${PLINTH_DEV_DIR:-$PWD/.dev}"
RUN_DIR="$DEV_DIR/run"
LOG_DIR="$DEV_DIR/log"

PG_DIR="$DEV_DIR/pg"
PG_PORT="${PLINTH_PG_PORT:-5432}"
PG_DB="plinth"

REDIS_DIR="$DEV_DIR/redis"
REDIS_PORT="${PLINTH_REDIS_PORT:-6379}"

RABBIT_DIR="$DEV_DIR/rabbitmq"
RABBIT_PORT="${PLINTH_AMQP_PORT:-5672}"

MINIO_DIR="$DEV_DIR/minio"
MINIO_PORT="${PLINTH_MINIO_PORT:-9000}"
MINIO_CONSOLE_PORT="${PLINTH_MINIO_CONSOLE_PORT:-9001}"
MINIO_USER="plinthdev"
MINIO_PASSWORD="plinthdevsecret"
S3_BUCKET_NAME="plinth"
MC_CONFIG_DIR="$DEV_DIR/mc"

# RabbitMQ reads its paths from the environment, and rabbitmqctl must see the same node name.
export RABBITMQ_NODENAME="plinth@localhost"
export RABBITMQ_NODE_IP_ADDRESS="127.0.0.1"
export RABBITMQ_NODE_PORT="$RABBIT_PORT"
export RABBITMQ_DIST_PORT="$((RABBIT_PORT + 20000))"
export RABBITMQ_MNESIA_BASE="$RABBIT_DIR/mnesia"
export RABBITMQ_LOG_BASE="$RABBIT_DIR/log"
export RABBITMQ_ENABLED_PLUGINS_FILE="$RABBIT_DIR/enabled_plugins"
export RABBITMQ_CONFIG_FILE="$RABBIT_DIR/rabbitmq.conf"
export RABBITMQ_PID_FILE="$RUN_DIR/rabbitmq.pid"

log() { printf 'dev-services: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

require() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not on PATH; run this through 'nix run .#dev-services' or inside 'nix develop'."
  done
}

# wait_for DESCRIPTION COMMAND...: retries COMMAND for about 30 seconds.
wait_for() {
  local what="$1"
  shift
  local attempt
  for attempt in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    if [ "$attempt" -lt 60 ]; then
      sleep 0.5
    fi
  done
  die "$what did not come up in time; see $LOG_DIR"
}

pid_alive() {
  local file="$1"
  [ -f "$file" ] && kill -0 "$(cat "$file")" 2>/dev/null
}

stop_pid() {
  local name="$1" file="$2" attempt
  if pid_alive "$file"; then
    kill "$(cat "$file")"
    for attempt in $(seq 1 40); do
      if ! pid_alive "$file"; then
        break
      fi
      if [ "$attempt" -lt 40 ]; then
        sleep 0.25
      fi
    done
    log "$name stopped"
  fi
  rm -f "$file"
}

pg_running() { [ -d "$PG_DIR" ] && pg_ctl status -D "$PG_DIR" >/dev/null 2>&1; }
redis_running() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null || true)" = PONG ]; }
rabbit_running() { rabbitmq-diagnostics -q ping >/dev/null 2>&1; }
minio_running() { pid_alive "$RUN_DIR/minio.pid"; }
minio_ready() { curl -fsS "http://127.0.0.1:$MINIO_PORT/minio/health/live"; }

start_postgres() {
  if [ ! -f "$PG_DIR/PG_VERSION" ]; then
    log "initialising PostgreSQL in $PG_DIR"
    initdb -D "$PG_DIR" -U postgres --auth=trust --encoding=UTF8 --locale=C >"$LOG_DIR/initdb.log" 2>&1
  fi
  if pg_running; then
    log "PostgreSQL already running"
  else
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    if ! pg_ctl start -D "$PG_DIR" -l "$LOG_DIR/postgres.log" -w -s \
      -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k '$RUN_DIR'"; then
      tail -n 5 "$LOG_DIR/postgres.log" >&2
      die "PostgreSQL did not start (is port $PG_PORT taken? PLINTH_PG_PORT moves it)"
    fi
  fi
  wait_for "PostgreSQL" pg_isready -h 127.0.0.1 -p "$PG_PORT" -U postgres
  local exists
  exists=$(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc \
    "select 1 from pg_database where datname = '$PG_DB'")
  if [ "$exists" != 1 ]; then
    log "creating database $PG_DB"
    createdb -h 127.0.0.1 -p "$PG_PORT" -U postgres "$PG_DB"
  fi
}

start_redis() {
  if redis_running; then
    log "Redis already running"
    return 0
  fi
  log "starting Redis on 127.0.0.1:$REDIS_PORT (no persistence)"
  mkdir -p "$REDIS_DIR"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$REDIS_DIR" --daemonize yes --pidfile "$RUN_DIR/redis.pid" --logfile "$LOG_DIR/redis.log"
  wait_for "Redis" redis_running
}

start_rabbitmq() {
  if rabbit_running; then
    log "RabbitMQ already running"
    return 0
  fi
  log "starting RabbitMQ on 127.0.0.1:$RABBIT_PORT"
  mkdir -p "$RABBITMQ_MNESIA_BASE" "$RABBITMQ_LOG_BASE"
  if [ ! -f "$RABBITMQ_ENABLED_PLUGINS_FILE" ]; then
    printf '[].\n' >"$RABBITMQ_ENABLED_PLUGINS_FILE"
  fi
  if [ ! -f "$RABBITMQ_CONFIG_FILE" ]; then
    # guest/guest, accepted from loopback only: the broker's default, written down.
    printf 'loopback_users.guest = true\n' >"$RABBITMQ_CONFIG_FILE"
  fi
  nohup rabbitmq-server </dev/null >>"$LOG_DIR/rabbitmq.log" 2>&1 &
  wait_for "RabbitMQ" rabbit_running
  rabbitmqctl -q await_startup >/dev/null 2>&1 || die "RabbitMQ did not finish booting; see $RABBITMQ_LOG_BASE"
}

start_minio() {
  if minio_running; then
    log "MinIO already running"
  else
    log "starting MinIO on 127.0.0.1:$MINIO_PORT (console on :$MINIO_CONSOLE_PORT)"
    mkdir -p "$MINIO_DIR"
    MINIO_ROOT_USER="$MINIO_USER" MINIO_ROOT_PASSWORD="$MINIO_PASSWORD" \
      nohup minio server "$MINIO_DIR" --quiet \
      --address "127.0.0.1:$MINIO_PORT" --console-address "127.0.0.1:$MINIO_CONSOLE_PORT" \
      </dev/null >>"$LOG_DIR/minio.log" 2>&1 &
    echo "$!" >"$RUN_DIR/minio.pid"
  fi
  wait_for "MinIO" minio_ready
  mc --config-dir "$MC_CONFIG_DIR" alias set plinth-dev "http://127.0.0.1:$MINIO_PORT" \
    "$MINIO_USER" "$MINIO_PASSWORD" >/dev/null
  mc --config-dir "$MC_CONFIG_DIR" mb --ignore-existing "plinth-dev/$S3_BUCKET_NAME" >/dev/null
}

usage() {
  cat >&2 <<'EOF'
usage: dev-services [start|stop|status|env]
  start   start what is not running (the default), then print the variables to export
  stop    stop every service; their data stays under ./.dev
  status  say which services are running
  env     print the variables only
Run it from the repository root; PLINTH_DEV_DIR moves the state directory.
EOF
}

print_env() {
  cat <<EOF
export DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/$PG_DB
export REDIS_URL=redis://127.0.0.1:$REDIS_PORT
export AMQP_URL=amqp://guest:guest@127.0.0.1:$RABBIT_PORT
export S3_BUCKET=$S3_BUCKET_NAME
export S3_ENDPOINT=http://127.0.0.1:$MINIO_PORT
export S3_FORCE_PATH_STYLE=true
export S3_REGION=us-east-1
export AWS_ACCESS_KEY_ID=$MINIO_USER
export AWS_SECRET_ACCESS_KEY=$MINIO_PASSWORD
EOF
}

start() {
  if [ "$(id -u)" -eq 0 ]; then
    die "PostgreSQL refuses to run as root; run this as an ordinary user."
  fi
  require initdb pg_ctl pg_isready psql createdb redis-server redis-cli \
    rabbitmq-server rabbitmqctl rabbitmq-diagnostics minio mc curl
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  start_postgres
  start_redis
  start_rabbitmq
  start_minio
  log "all services are up; logs are in $LOG_DIR. Export these (or eval this command's output):"
  print_env
}

stop() {
  if pg_running; then
    pg_ctl stop -D "$PG_DIR" -m fast -w -s
    log "PostgreSQL stopped"
  fi
  if redis_running; then
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    log "Redis stopped"
  fi
  rm -f "$RUN_DIR/redis.pid"
  if rabbit_running; then
    rabbitmqctl -q shutdown >/dev/null 2>&1 || true
    log "RabbitMQ stopped"
  fi
  stop_pid "RabbitMQ (leftover process)" "$RUN_DIR/rabbitmq.pid"
  stop_pid "MinIO" "$RUN_DIR/minio.pid"
}

status() {
  local name
  for name in pg redis rabbit minio; do
    if "${name}_running"; then
      printf '%s: running\n' "$name"
    else
      printf '%s: stopped\n' "$name"
    fi
  done
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) print_env ;;
  -h | --help | help) usage ;;
  *)
    usage
    exit 2
    ;;
esac
