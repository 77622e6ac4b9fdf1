#!/usr/bin/env bash
# Removes what killed test runs leave on the local RabbitMQ: queues whose names carry the tests'
# prefix (t-…) and have no consumer, and test vhosts (t-…). Never touches anything else.
# Run it when nothing else is testing against the broker: a queue between two tests of a running
# suite has no consumer either.
set -euo pipefail
API=${RABBITMQ_API:-http://127.0.0.1:15672/api}
AUTH=${RABBITMQ_AUTH:-guest:guest}
enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
queues=0; vhosts=0
while IFS=$'\t' read -r vhost name consumers; do
  [[ "$name" == t-* && "$consumers" == 0 ]] || continue
  curl -fsS -o /dev/null -u "$AUTH" -X DELETE "$API/queues/$(enc "$vhost")/$(enc "$name")" && queues=$((queues + 1)) || true
done < <(curl -fsS -u "$AUTH" "$API/queues?columns=vhost,name,consumers" | python3 -c 'import json, sys
for q in json.load(sys.stdin): print(q["vhost"], q["name"], q.get("consumers", 0), sep="\t")')
while read -r vhost; do
  [[ "$vhost" == t-* ]] || continue
  curl -fsS -o /dev/null -u "$AUTH" -X DELETE "$API/vhosts/$(enc "$vhost")" && vhosts=$((vhosts + 1)) || true
done < <(curl -fsS -u "$AUTH" "$API/vhosts?columns=name" | python3 -c 'import json, sys
for v in json.load(sys.stdin): print(v["name"])')
echo "removed $queues test queues and $vhosts test vhosts"
