#!/usr/bin/env bash
# Starts a local 3-node Redis Cluster for development and load tests:
# ports 7001-7003 (override with CLUSTER_PORTS), data and AOF in .cluster/.
# Stop it with `npm run cluster:down`; the data stays until you delete .cluster/.
set -euo pipefail
cd "$(dirname "$0")/.."

PORTS=(${CLUSTER_PORTS:-7001 7002 7003})
DIR="${CLUSTER_DIR:-.cluster}"

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  echo "cluster:up needs redis-server and redis-cli on PATH." >&2
  echo "  Debian/Ubuntu: sudo apt-get install redis-server redis-tools" >&2
  echo "  macOS:         brew install redis" >&2
  echo "  or use Docker: docker compose -f docker-compose.cluster.yml up -d" >&2
  exit 1
fi

mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
for port in "${PORTS[@]}"; do
  if redis-cli -p "$port" ping >/dev/null 2>&1; then
    echo "redis on port $port already answers; leaving it as it is"
    continue
  fi
  mkdir -p "$DIR/$port"
  redis-server --port "$port" --bind 127.0.0.1 --daemonize yes \
    --dir "$DIR/$port" --logfile "$DIR/$port/redis.log" --pidfile "$DIR/$port/redis.pid" \
    --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000 \
    --appendonly yes --appendfsync everysec --maxmemory-policy noeviction
done

for port in "${PORTS[@]}"; do
  for _ in $(seq 1 50); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
done

first="${PORTS[0]}"
cluster_ok() { redis-cli -p "$first" cluster info 2>/dev/null | grep -q 'cluster_state:ok'; }
if redis-cli -p "$first" cluster info 2>/dev/null | grep -q 'cluster_known_nodes:1\b'; then
  formed=no
else
  # Restarted nodes of an earlier cluster (nodes.conf kept): they find each other again.
  formed=yes
fi
if [ "$formed" = yes ]; then
  for _ in $(seq 1 100); do cluster_ok && break; sleep 0.1; done
  if cluster_ok; then echo "cluster already formed"; else
    echo "the nodes belong to a cluster that is not ok yet; check: redis-cli -p $first cluster info" >&2
    exit 1
  fi
else
  hosts=()
  for port in "${PORTS[@]}"; do hosts+=("127.0.0.1:$port"); done
  redis-cli --cluster create "${hosts[@]}" --cluster-replicas 0 --cluster-yes >/dev/null
  for _ in $(seq 1 100); do
    redis-cli -p "$first" cluster info | grep -q 'cluster_state:ok' && break
    sleep 0.1
  done
fi

nodes=$(printf '127.0.0.1:%s,' "${PORTS[@]}")
echo "Redis Cluster up on ${PORTS[*]} (AOF on, data in $DIR/)."
echo "Use it with: REDIS_CLUSTER_NODES=${nodes%,} USE_REDIS_WEBSOCKETS=true USE_REDIS_COLLABORATION=true USE_REDIS_EVENT_ORDERING=true"
echo "or:          npx pm2 start ecosystem.config.js"
