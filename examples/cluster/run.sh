#!/usr/bin/env bash
# Starts a replicaflow cluster on 127.0.0.1 — a supervisor, a gateway and
# two workers of the "hello" service — calls through the gateway, and stops
# everything on exit (Ctrl-C, an error, or the end of the script).
#
#   examples/cluster/run.sh            # run the demo and stop
#   KEEP=1 examples/cluster/run.sh     # keep the cluster up until Ctrl-C
#
# The gateway finds the workers through the registry the supervisor keeps:
# both share a Redis (REPLICAFLOW_REDIS_URL, default the local one on
# 127.0.0.1:6379, database 11). Without a reachable Redis the script adds the
# workers to the gateway by hand instead (POST /service); USE_REDIS=0 does
# that even when Redis is there.
#
# Ports: SUPERVISOR_PORT (18100), GATEWAY_PORT (15000), WORKER_PORTS
# ("18001 18002").
set -euo pipefail
cd "$(dirname "$0")/../.."

SUPERVISOR_PORT=${SUPERVISOR_PORT:-18100}
GATEWAY_PORT=${GATEWAY_PORT:-15000}
WORKER_PORTS=${WORKER_PORTS:-"18001 18002"}
HEALTH_INTERVAL=${HEALTH_INTERVAL:-1}

work=$(mktemp -d)
pids=()
cleanup() {
  local status=$?
  # Workers first (they deregister from the running supervisor), then the
  # gateway, then the supervisor.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
  for _ in $(seq 1 100); do listening "$1" && return 0; sleep 0.1; done
  echo "run.sh: nothing listens on 127.0.0.1:$1; logs in $work" >&2
  tail -n 20 "$work"/*.log >&2 || true
  return 1
}

echo "== building replicaflow and the worker"
go build -o "$work/" ./cmd/replicaflow ./examples/cluster

# One token for every role; the registry's Redis entries are sealed with a
# secret of their own.
export REPLICAFLOW_TOKEN=${REPLICAFLOW_TOKEN:-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')}
auth=(-H "Authorization: Bearer $REPLICAFLOW_TOKEN")

shared_registry=
if [ "${USE_REDIS:-1}" != 0 ] && { [ -n "${REPLICAFLOW_REDIS_URL:-}" ] || listening 6379; }; then
  export REPLICAFLOW_REDIS_URL=${REPLICAFLOW_REDIS_URL:-redis://127.0.0.1:6379/11}
  export REPLICAFLOW_REDIS_SECRET=${REPLICAFLOW_REDIS_SECRET:-$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')}
  export REPLICAFLOW_REDIS_PREFIX=${REPLICAFLOW_REDIS_PREFIX:-replicaflow:example:}
  shared_registry=1
  echo "== registry: Redis at $REPLICAFLOW_REDIS_URL"
else
  echo "== registry: none shared (no Redis); the workers are added to the gateway by hand"
fi

echo "== supervisor on 127.0.0.1:$SUPERVISOR_PORT"
"$work/replicaflow" supervisor -addr "127.0.0.1:$SUPERVISOR_PORT" >"$work/supervisor.log" 2>&1 &
pids+=($!)
wait_port "$SUPERVISOR_PORT"

echo "== gateway on 127.0.0.1:$GATEWAY_PORT"
"$work/replicaflow" gateway -addr "127.0.0.1:$GATEWAY_PORT" -store "$work/gateway.json" \
  -check-interval "${HEALTH_INTERVAL}s" >"$work/gateway.log" 2>&1 &
pids+=($!)
wait_port "$GATEWAY_PORT"

for port in $WORKER_PORTS; do
  echo "== worker on 127.0.0.1:$port"
  API_REGISTER_PATH="http://127.0.0.1:$SUPERVISOR_PORT/register" API_HOST=127.0.0.1 API_BIND=127.0.0.1 \
    API_PORT="$port" API_HEALTH_INTERVAL="$HEALTH_INTERVAL" API_VERSION=0.1.0 API_TAGS=example \
    "$work/cluster" >"$work/worker-$port.log" 2>&1 &
  pids+=($!)
  wait_port "$port"
  if [ -z "$shared_registry" ]; then
    curl -fsS "${auth[@]}" -H 'Content-Type: application/json' -d "{\"domain\":\"http://127.0.0.1\",\"name_service\":\"hello\",\"port\":$port,\"health_path\":\"/healthz\"}" \
      "http://127.0.0.1:$GATEWAY_PORT/service" >/dev/null
  fi
done

echo "== waiting for the supervisor to find both workers healthy"
for _ in $(seq 1 50); do
  healthy=$(curl -fsS "http://127.0.0.1:$SUPERVISOR_PORT/services/status" | grep -o '"status":"healthy"' | wc -l)
  [ "$healthy" -ge 2 ] && break
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$SUPERVISOR_PORT/services/status"; echo

echo "== the gateway's upstreams"
curl -fsS "${auth[@]}" "http://127.0.0.1:$GATEWAY_PORT/services"; echo

echo "== six calls through the gateway (both workers answer)"
for _ in 1 2 3 4 5 6; do
  curl -fsS "http://127.0.0.1:$GATEWAY_PORT/hello/whoami"; echo
done
curl -fsS "http://127.0.0.1:$GATEWAY_PORT/hello/hello/ada"; echo

if [ -n "${KEEP:-}" ]; then
  echo "== cluster up: gateway http://127.0.0.1:$GATEWAY_PORT/hello/whoami, logs in $work; Ctrl-C stops it"
  wait
fi
echo "== stopping"
