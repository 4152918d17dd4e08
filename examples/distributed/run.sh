#!/usr/bin/env bash
# Starts a NATS server (unless one listens on the port), a gateway and N
# worker processes on loopback, runs the load command through the gateway,
# lists the remote instances, then stops what it started.
#
#   examples/distributed/run.sh [workers=3] [clients=48] [seconds=5]
set -euo pipefail
cd "$(dirname "$0")/../.."
workers=${1:-3} clients=${2:-48} seconds=${3:-5}
port=${NATS_PORT:-4222} gw=${GATEWAY_ADDR:-127.0.0.1:8080}
export NATS_URL=nats://127.0.0.1:$port RF_PREFIX=rfdemo$$

bin=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$bin"
}
trap cleanup EXIT

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if ! listening "$port"; then
  nats=$(command -v nats-server || echo /usr/sbin/nats-server)
  "$nats" -a 127.0.0.1 -p "$port" >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 1 50); do listening "$port" && break; sleep 0.1; done
fi

go build -o "$bin/distributed" ./examples/distributed
for _ in $(seq 1 "$workers"); do
  "$bin/distributed" worker &
  pids+=($!)
done
"$bin/distributed" gateway -addr "$gw" &
pids+=($!)
for _ in $(seq 1 50); do listening "${gw##*:}" && break; sleep 0.1; done
sleep 1 # let the workers subscribe

echo "== load: $clients clients, ${seconds}s, GET /work/sleep?ms=10 through the gateway"
"$bin/distributed" load -url "http://$gw/work/sleep?ms=10" -c "$clients" -d "${seconds}s"
echo "== GET /services (remote instances)"
curl -s "http://$gw/services"; echo
