# CoraMQ. Every target installs what it needs first, so each works on a fresh clone.
.PHONY: install generate check-generated build lint test run bench bench-wal bench-smoke clean breaking client
.PHONY: bench-scaling

NPM_FLAGS := --no-audit --no-fund

# npm ci when node_modules is missing or older than the lockfile.
node_modules/.package-lock.json: package-lock.json package.json
	npm ci $(NPM_FLAGS)
	@touch $@

install: node_modules/.package-lock.json

# The FileDescriptorSet server reflection serves (generated/descriptor-set.binpb): the contract
# with its imports and comments, then the health and reflection protos the server also serves.
# Each `buf build` writes a FileDescriptorSet; concatenated, they are one (repeated field 1).
REFLECTION_PROTOS := node_modules/@grpc/reflection/build/proto
HEALTH_PROTOS := node_modules/grpc-health-check/proto
define build-descriptor-set
	@{ npx buf build --as-file-descriptor-set -o -#format=binpb && \
	  npx buf build $(REFLECTION_PROTOS) --path $(REFLECTION_PROTOS)/grpc --as-file-descriptor-set -o -#format=binpb && \
	  npx buf build $(HEALTH_PROTOS) --as-file-descriptor-set -o -#format=binpb; } > $(1).tmp && mv $(1).tmp $(1)
endef

# Regenerate the ts-proto stubs in generated/ from proto/ (commit the result).
generate: install
	npx buf generate
	$(call build-descriptor-set,generated/descriptor-set.binpb)

# Fails when generated/ is not what proto/ generates.
check-generated: install
	@rm -rf .generated-check && npx buf generate --output .generated-check
	$(call build-descriptor-set,.generated-check/generated/descriptor-set.binpb)
	@diff -r generated .generated-check/generated >/dev/null || { echo "generated/ is stale: run 'make generate' and commit it"; diff -r generated .generated-check/generated | head -20; rm -rf .generated-check; exit 1; }
	@rm -rf .generated-check && echo "generated/ is fresh"

build: install
	npm run build

# Fails when proto/ breaks wire or source compatibility with the previous commit
# (make breaking BREAKING_AGAINST=main compares with a branch instead).
BREAKING_AGAINST ?= HEAD~1
breaking: install
	.ci/buf-breaking.sh $(BREAKING_AGAINST)

lint: install check-generated breaking
	npx buf lint
	npx tsc -p tsconfig.json --noEmit
	npx tsc -p client/tsconfig.json --noEmit

test: build
	npx jest

# Starts a server on localhost:50051 with the default storage. Options: make run ARGS="--port 6000".
run: build
	node $$(node -p "require('./dist/src/server/node-flags.js').SERVER_NODE_FLAGS.join(' ')") dist/src/cli.js serve $(ARGS)

# The engine alone, the transport's ceiling for the client (unary batches vs streams), then the
# shared peer workload against CoraMQ (stubs and client package) and every peer in one run.
# BENCH_SYSTEMS="coramq grpc-ceiling" narrows the peer run; N=5000 makes it small.
bench: build client
	npx tsc -p tsconfig.bench.json
	node --expose-gc dist/bench/engine.js
	node --expose-gc dist/bench/growth.js
	node dist/bench/http.js
	node dist/bench/wire-codecs.js # the hand-written batch codecs against the generated ones
	node bench/transport.mjs
	bench/run-peers.sh $(BENCH_SYSTEMS)

# Every benchmark at a small size (a few thousand messages), so none can rot: CI runs this
# after the tests. It prints figures and asserts nothing about them; it fails only when a
# benchmark itself fails to run.
bench-smoke: build client
	npx tsc -p tsconfig.bench.json
	node --expose-gc dist/bench/engine.js --cycles 20000 --messages 20000 --in-flight 2000
	node dist/bench/http.js --messages 2000
	node dist/bench/wire-codecs.js --messages 20000 --runs 1
	RUNS=1 N=2000 node bench/transport.mjs
	N=2000 bench/run-peers.sh coramq coramq-client coramq-client-always
	node dist/bench/scaling.js --n 2000 --l-seconds 1 --queues 1,1000 --backlog 1000,100000
	node dist/bench/memory.js --messages 20000 --latency-messages 2000
	node --expose-gc dist/bench/growth.js --messages 20000
	node bench/sync-write.mjs --writes 100
	node bench/wal-cycle.mjs --messages 5000
	node bench/platform-stalls.mjs --sizes 0,16 --seconds 0.5 --rounds 1
	node bench/ack-window.mjs --messages 2000 --streams 8 --rounds 1

# The client package @coramq/client (client/): CommonJS, an ES module entry and types in
# client/dist, built from client/src and generated/. `make test` runs its tests from source;
# its pack-and-install test builds it with `npm pack`.
client: install
	cd client && node scripts/build.mjs

# The write-ahead log: journal cost, recovery of 1,000,000 messages and compaction pauses in
# process; a batching client against the server on each storage variant; then the shared
# workload on each variant side by side (N=5000 makes it small).
bench-wal: build
	npx tsc -p tsconfig.bench.json
	node --expose-gc dist/bench/wal-inprocess.js
	node dist/bench/wal-throughput.js
	bench/run-peers.sh coramq-memory coramq-always coramq-interval coramq-never coramq-memory+batch coramq-always+batch

# How cost grows (issue 7, target 7): E, D and L through the client package with 1/100/10,000
# queues, 1/16/256 consumer streams and 1,000/100,000/1,000,000 messages queued; a table and
# the largest/smallest ratio per axis. SCALING_ARGS="--n 2000 --l-seconds 1" is a smoke run.
bench-scaling: build
	npx tsc -p tsconfig.bench.json
	node dist/bench/scaling.js $(SCALING_ARGS)

clean:
	rm -rf dist .generated-check .bench-out client/dist

# Server RSS per queued 256-byte message at 1,000,000 messages, and the shared workload's L
# phase through the client package on a fresh server and beside that backlog, with the longest
# GC pause of server and client (bench/memory.ts). BENCH_MEMORY_MESSAGES=50000 makes it small.
.PHONY: bench-memory
BENCH_MEMORY_MESSAGES ?= 1000000
bench-memory: build
	npx tsc -p tsconfig.bench.json
	node dist/bench/memory.js --messages $(BENCH_MEMORY_MESSAGES)

# How the engine grows (issue 7): 4,000,000 messages enqueued through the Broker in batches of
# 500; the longest single enqueue and batch (the stops a server would see while its message
# table grows), GC pauses, time and memory per message. BENCH_GROWTH_MESSAGES=200000 is small.
.PHONY: bench-growth
BENCH_GROWTH_MESSAGES ?= 4000000
bench-growth: build
	npx tsc -p tsconfig.bench.json
	node --expose-gc dist/bench/growth.js --messages $(BENCH_GROWTH_MESSAGES)
