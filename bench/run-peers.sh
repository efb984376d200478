#!/usr/bin/env bash
# Runs the shared peer workload (../shared/peers/WORKLOAD.md) against CoraMQ and the peers in
# one run, side by side, and prints one table.
#
#   bench/run-peers.sh [system ...]     default: coramq coramq+batch coramq-client
#                                       coramq-client+batch coramq-client-always
#                                       grpc-ceiling beanstalkd redis-plain bullmq
#                                       rabbitmq nats
#   CoraMQ storage variants (each may take +batch): coramq-memory coramq-always
#   coramq-interval coramq-never (wal with that --fsync), and the same through the
#   client package: coramq-client-memory coramq-client-always ...; plain coramq and
#   coramq-client run CORAMQ_SERVER_ARGS (default --storage memory).
#   env: N=50000 (messages in E and D), RESULTS=file.jsonl
#
# The harness is copied to a scratch directory (../shared stays untouched) and this repo's
# adapters (bench/peers/*.mjs: coramq with the generated stubs, coramq-client with the
# client package, which must be built: make client) are added to the copy's systems/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEERS=$ROOT/../shared/peers
[ -d "$PEERS" ] || { echo "expected the shared peers harness at $PEERS" >&2; exit 2; }
WORK=$ROOT/.bench-out/peers
mkdir -p "$WORK"
# Copy the harness (not its results or node_modules), keep the installed npm packages between runs.
tar -C "$PEERS" --exclude=node_modules --exclude=results -cf - . | tar -C "$WORK" -xf -
cp "$ROOT"/bench/peers/*.mjs "$WORK/bench/systems/"
# Storage variants, each its own system so they sit side by side in one run.
declare -A VARIANTS=(
  [coramq-memory]='--storage memory'
  [coramq-always]='--storage wal --fsync always'
  [coramq-interval]='--storage wal --fsync interval'
  [coramq-never]='--storage wal --fsync never'
)
for v in "${!VARIANTS[@]}"; do
  printf "import { coramq } from './coramq.mjs';\nexport default coramq('%s');\n" "${VARIANTS[$v]}" >"$WORK/bench/systems/$v.mjs"
  printf "import { coramqClient } from './coramq-client.mjs';\nexport default coramqClient('%s');\n" "${VARIANTS[$v]}" >"$WORK/bench/systems/${v/coramq/coramq-client}.mjs"
done
# run.sh validates system names against its own list; accept ours too.
sed -i 's/^ALL=(\(.*\))$/ALL=(coramq coramq+batch coramq-client coramq-client+batch \1)/; s/^    grpc-ceiling)       ;;$/    grpc-ceiling|coramq|coramq-*) ;;/' "$WORK/run.sh"
for s in "$@"; do
  base=${s%+batch}
  case "$base" in coramq-*) [ -f "$WORK/bench/systems/$base.mjs" ] || { echo "unknown system $s (CoraMQ variants: ${!VARIANTS[*]}, coramq-client)" >&2; exit 2; } ;; esac
done

[ $# -eq 0 ] && set -- coramq coramq+batch coramq-client coramq-client+batch coramq-client-always grpc-ceiling beanstalkd redis-plain bullmq rabbitmq nats
RESULTS=${RESULTS:-$WORK/results/$(date -u +%Y%m%dT%H%M%SZ).jsonl}
export CORAMQ_ROOT=$ROOT RESULTS
"$WORK/run.sh" "$@"
node "$ROOT/bench/ratios.mjs" "$RESULTS"
