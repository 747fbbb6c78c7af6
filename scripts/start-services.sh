#!/usr/bin/env bash
# Start the local services the integration tests talk to, if they are not already up.
# Idempotent: a service whose port already answers is left alone. A service whose binary
# is missing only gets a warning (tests that need it should skip or fail on their own).
# Prints one line per service: up / started / missing / FAILED.
# Exit status: 0 unless STRICT_SERVICES=1 and some service failed to come up.
set -uo pipefail

WAIT_SECS="${SERVICE_WAIT_SECS:-30}"   # how long to wait for a port after starting
LOG="${TMPDIR:-/tmp}/sluice-start-services.log"
failed=0

port_open() { timeout 2 bash -c "</dev/tcp/127.0.0.1/$1" 2>/dev/null; }

wait_port() {  # wait_port PORT SECS
  local i
  for ((i = 0; i < $2 * 2; i++)); do port_open "$1" && return 0; sleep 0.5; done
  return 1
}

# ensure NAME PORT BINARY WAIT START-COMMAND...
ensure() {
  local name="$1" port="$2" bin="$3" wait="$4"; shift 4
  if port_open "$port"; then
    printf '%-10s %-5s up\n' "$name" "$port"; return 0
  fi
  if ! command -v "$bin" >/dev/null 2>&1; then
    printf '%-10s %-5s missing (WARNING: %s not installed; tests needing it will fail or skip)\n' \
      "$name" "$port" "$bin"
    return 0
  fi
  # start output goes to a log; it is shown only when the service does not come up
  echo "=== $(date -Is) starting $name: $*" >>"$LOG"
  if "$@" >>"$LOG" 2>&1 && wait_port "$port" "$wait"; then
    printf '%-10s %-5s started\n' "$name" "$port"
  else
    printf '%-10s %-5s FAILED (port not answering after %ss; log: %s)\n' "$name" "$port" "$wait" "$LOG"
    tail -n 15 "$LOG" >&2
    failed=1
  fi
}

# PostgreSQL: the installed major version's "main" cluster (highest version if several)
pg_start() {
  local ver
  ver="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$ver" ] || { echo "no cluster under /etc/postgresql"; return 1; }
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start
}
redis_start() {
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
}

ensure postgresql 5432 pg_ctlcluster   "$WAIT_SECS" pg_start
ensure mariadb    3306 /usr/sbin/mariadbd "$WAIT_SECS" \
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
ensure redis      6379 redis-server    "$WAIT_SECS" redis_start
# RabbitMQ (Erlang VM boot) is slow to open its port: give it twice as long
ensure rabbitmq   5672 rabbitmq-server "$((WAIT_SECS * 2))" rabbitmq-server -detached
ensure mosquitto  1883 mosquitto       "$WAIT_SECS" mosquitto -d -c /etc/mosquitto/mosquitto.conf
ensure nats       4222 /usr/sbin/nats-server "$WAIT_SECS" \
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log

if [ "$failed" -ne 0 ] && [ "${STRICT_SERVICES:-0}" = 1 ]; then exit 1; fi
exit 0
