#!/usr/bin/env bash
# A Docker engine of terra-transfer's own: its own data root (kept, so the base image and build layers are
# cached between runs), exec root, pid file and socket, never the machine's default ones.
#   deploy/docker/dockerd.sh start   # prints the DOCKER_HOST to use
#   deploy/docker/dockerd.sh stop    # stops only the daemon whose pid file is ours
# This machine runs dockerd only without a bridge or iptables: containers use the host's network.
set -euo pipefail
ROOT=${TERRA_DOCKER_ROOT:-/var/tmp/terra-deploy-docker}
SOCK=$ROOT/docker.sock PID=$ROOT/dockerd.pid LOG=$ROOT/dockerd.log
running() { [ -f "$PID" ] && kill -0 "$(cat "$PID")" 2>/dev/null; }
case "${1:-}" in
  start)
    mkdir -p "$ROOT/data" "$ROOT/exec"
    if ! running; then
      rm -f "$SOCK" "$PID"
      # setsid: the daemon is not in the caller's process group (make's or jest's), so it is stopped by
      # `stop` alone, and always by it.
      setsid /usr/sbin/dockerd --bridge=none --iptables=false --ip-masq=false \
        --data-root "$ROOT/data" --exec-root "$ROOT/exec" --pidfile "$PID" --host "unix://$SOCK" \
        >"$LOG" 2>&1 </dev/null &
      for _ in $(seq 1 240); do
        DOCKER_HOST=unix://$SOCK /usr/bin/docker version >/dev/null 2>&1 && break
        sleep 0.25
      done
      DOCKER_HOST=unix://$SOCK /usr/bin/docker version >/dev/null 2>&1 || { echo "dockerd did not start; see $LOG" >&2; tail -20 "$LOG" >&2; exit 1; }
    fi
    echo "unix://$SOCK"
    ;;
  stop)
    if running; then
      pid=$(cat "$PID"); kill -TERM "$pid"
      for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" || true
    fi
    rm -f "$SOCK"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
