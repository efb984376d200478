# CoraMQ. Every target installs what it needs first, so each works on a fresh clone.
.PHONY: install generate check-generated build lint test run bench bench-wal clean

NPM_FLAGS := --no-audit --no-fund

# npm ci when node_modules is missing or older than the lockfile.
node_modules/.package-lock.json: package-lock.json package.json
	npm ci $(NPM_FLAGS)
	@touch $@

install: node_modules/.package-lock.json

# Regenerate the ts-proto stubs in generated/ from proto/ (commit the result).
generate: install
	npx buf generate

# Fails when generated/ is not what proto/ generates.
check-generated: install
	@rm -rf .generated-check && npx buf generate --output .generated-check
	@diff -r generated .generated-check/generated >/dev/null || { echo "generated/ is stale: run 'make generate' and commit it"; diff -r generated .generated-check/generated | head -20; rm -rf .generated-check; exit 1; }
	@rm -rf .generated-check && echo "generated/ is fresh"

build: install
	npm run build

lint: install check-generated
	npx buf lint
	npx tsc -p tsconfig.json --noEmit

test: build
	npx jest

# Starts a server on localhost:50051 with the default storage. Options: make run ARGS="--port 6000".
run: build
	node dist/src/cli.js serve $(ARGS)

# The engine alone, then the shared peer workload against CoraMQ and every peer in one run.
# BENCH_SYSTEMS="coramq grpc-ceiling" narrows the peer run; N=5000 makes it small.
bench: build
	npx tsc -p tsconfig.bench.json
	node --expose-gc dist/bench/engine.js
	bench/run-peers.sh $(BENCH_SYSTEMS)

# The write-ahead log: journal cost, recovery of 1,000,000 messages and compaction pauses in
# process; a batching client against the server on each storage variant; then the shared
# workload on each variant side by side (N=5000 makes it small).
bench-wal: build
	npx tsc -p tsconfig.bench.json
	node --expose-gc dist/bench/wal-inprocess.js
	node dist/bench/wal-throughput.js
	bench/run-peers.sh coramq-memory coramq-always coramq-interval coramq-never coramq-memory+batch coramq-always+batch

clean:
	rm -rf dist .generated-check .bench-out
