#!/usr/bin/env bash
# Stops the local Redis Cluster started by `npm run cluster:up` (data stays in .cluster/).
set -euo pipefail
cd "$(dirname "$0")/.."
PORTS=(${CLUSTER_PORTS:-7001 7002 7003})
for port in "${PORTS[@]}"; do
  if redis-cli -p "$port" ping >/dev/null 2>&1; then
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    echo "stopped redis on port $port"
  fi
done
