#!/usr/bin/env bash
# Makes sure RabbitMQ (with the management plugin) and Redis answer on
# 127.0.0.1. Starts them when they are installed but stopped; otherwise says
# exactly what to run. Used by `make test` and `make demo`.
set -euo pipefail

AMQP_HOST=${AMQP_HOST:-127.0.0.1}; AMQP_PORT=${AMQP_PORT:-5672}
REDIS_HOST=${REDIS_HOST:-127.0.0.1}; REDIS_PORT=${REDIS_PORT:-6379}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
wait_port() { # host port seconds
  for _ in $(seq 1 "$(( $3 * 4 ))"); do port_open "$1" "$2" && return 0; sleep 0.25; done; return 1
}

if ! port_open "$AMQP_HOST" "$AMQP_PORT"; then
  if command -v rabbitmq-server >/dev/null; then
    echo "RabbitMQ is not answering on $AMQP_HOST:$AMQP_PORT; starting it (rabbitmq-server -detached)"
    rabbitmq-server -detached || true
    wait_port "$AMQP_HOST" "$AMQP_PORT" 90 || { echo "RabbitMQ did not come up; see /var/log/rabbitmq/" >&2; exit 1; }
  else
    echo "RabbitMQ is not running on $AMQP_HOST:$AMQP_PORT and is not installed." >&2
    echo "Install and start it:  apt-get install -y rabbitmq-server && rabbitmq-server -detached" >&2
    exit 1
  fi
fi
if command -v rabbitmqctl >/dev/null; then
  # Erlang CLI calls are bounded: one was seen to hang for minutes (the node itself answered).
  timeout 120 rabbitmqctl -q await_startup >/dev/null 2>&1 || true
  # The management listener answering means the plugin is on; only otherwise ask the CLI.
  if ! port_open 127.0.0.1 15672 && ! timeout 60 rabbitmq-plugins -q is_enabled rabbitmq_management >/dev/null 2>&1; then
    echo "Enabling the RabbitMQ management plugin (UI on http://127.0.0.1:15672, guest/guest)"
    timeout 180 rabbitmq-plugins enable rabbitmq_management >/dev/null
  fi
  # Quorum queues reserve file handles in the node's file-handle cache, whose limit comes from the node's
  # open-files limit. At Debian's default (1024) a few hundred queues (tests killed before their clean-up
  # leave theirs behind) exhaust it, and the node then stops accepting connections without an alarm.
  fhc=$(timeout 30 rabbitmqctl -q eval 'file_handle_cache:info([total_limit, total_used]).' 2>/dev/null | tr -dc '0-9,' || true)
  limit=${fhc%%,*}; used=${fhc##*,}
  if [[ -n "$limit" && "$limit" =~ ^[0-9]+$ && "$limit" -lt 4000 ]]; then
    echo "WARNING: RabbitMQ's file-handle limit is $limit ($used in use): a few hundred queues can wedge the node." >&2
    echo "  Raise it: echo 'ulimit -n 20000' >> /etc/rabbitmq/rabbitmq-env.conf && rabbitmqctl stop && rabbitmq-server -detached" >&2
  fi
  left=$(timeout 60 rabbitmqctl -q list_queues name consumers 2>/dev/null | awk '$1 ~ /^t-/ && $2 == 0' | wc -l || true)
  if [[ "${left:-0}" -gt 100 ]]; then
    echo "WARNING: $left test queues (t-*) without consumers are left on the broker; \`make clean-broker\` removes them." >&2
  fi
fi

if ! port_open "$REDIS_HOST" "$REDIS_PORT"; then
  if command -v redis-server >/dev/null; then
    echo "Redis is not answering on $REDIS_HOST:$REDIS_PORT; starting it"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
    wait_port "$REDIS_HOST" "$REDIS_PORT" 30 || { echo "Redis did not come up; see /var/log/redis/ci.log" >&2; exit 1; }
  else
    echo "Redis is not running on $REDIS_HOST:$REDIS_PORT and is not installed." >&2
    echo "Install and start it:  apt-get install -y redis-server && redis-server --daemonize yes" >&2
    exit 1
  fi
fi
echo "RabbitMQ $AMQP_HOST:$AMQP_PORT and Redis $REDIS_HOST:$REDIS_PORT answer."
