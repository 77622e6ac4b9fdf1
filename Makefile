# terra-transfer: `make demo` runs the pipeline, `make test` runs every test.
# Both install what they need (pnpm, node modules) and check RabbitMQ and Redis.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PNPM_VERSION := $(shell node -p "require('./package.json').packageManager.split('@')[1]")
JEST := node --experimental-vm-modules node_modules/jest/bin/jest.js

.PHONY: all pnpm deps build services db test-tools typecheck-tests test test-unit demo docs errors-doc clean

all: build

pnpm:
	@if [ "$$(pnpm --version 2>/dev/null)" != "$(PNPM_VERSION)" ]; then \
	  echo "installing pnpm $(PNPM_VERSION)"; npm install -g --silent pnpm@$(PNPM_VERSION); fi

deps: pnpm
	@pnpm install --frozen-lockfile --reporter=silent

build: deps
	@pnpm exec tsc -b

# Progress goes to stderr, so benchmark targets print only their JSON line on stdout.
services:
	@deploy/local/ensure-services.sh >&2

# The transfer log's PostgreSQL (127.0.0.1:5432): checked, its database created and migrated
# (node-pg-migrate, under an advisory lock; the service also migrates at start). TRANSFER_LOG_DATABASE_URL overrides.
TRANSFER_LOG_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/terra_transfer_log
db: build
	@pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not answering on 127.0.0.1:5432. Install and start it: apt-get install -y postgresql && pg_ctlcluster 15 main start" >&2; exit 1; }
	@DATABASE_URL=$(TRANSFER_LOG_DATABASE_URL) LOG_LEVEL=warn node services/transfer-log/dist/migrate.js up --create-database

docs: build errors-doc
	@node packages/contracts/dist/render-docs.js > docs/messages.md

# docs/errors.md from the one error catalogue (packages/platform/src/error-codes.ts); a test fails when they differ.
errors-doc: build
	@node packages/platform/dist/render-errors.js > docs/errors.md

# Debian tools some tests drive for real (vsftpd, logrotate, an FTP client); installed when missing.
test-tools:
	@for s in test/setup/*.sh; do if [ -x "$$s" ]; then "$$s"; fi; done

# The tests themselves are type-checked too (jest runs them through swc, which does not check types).
typecheck-tests: deps
	@pnpm exec tsc -p tsconfig.tests.json

test: build typecheck-tests check-alerts services db test-tools test-deploy
	@$(JEST) --ci --testPathIgnorePatterns /node_modules/ /dist/ /test/deploy/

# The guard rails: typescript-eslint (eslint.config.js), knip's unused files/exports/dependencies (knip.jsonc),
# the architecture's import rules (.dependency-cruiser.cjs)
# and the type check of the tests. `make test` runs the same (test/lint checks the rules themselves and the tree).
.PHONY: lint
lint: typecheck-tests
	@pnpm exec eslint --max-warnings 0 .
	@pnpm exec knip --no-config-hints
	@pnpm exec depcruise services packages test --config .dependency-cruiser.cjs --output-type err

test-unit: build
	@$(JEST) --ci packages

# The whole pipeline on generated gantry uploads, live progress, then left running for inspection (Ctrl-C stops it).
# DEMO_ARGS: --datasets N --rate PER_SEC --rotate-every LINES --snapshots N (Danforth) --real-size --exit --json
demo: build services db
	@node packages/stack/dist/demo.js $(DEMO_ARGS)

clean:
	rm -rf node_modules packages/*/node_modules services/*/node_modules packages/*/dist services/*/dist **/*.tsbuildinfo

# --- targets added by feature work ---

.PHONY: bench-globus-sim
# Globus simulator throughput (small-file tasks, large files next to cp): one JSON line.
bench-globus-sim: build
	@node services/globus-sim/bench/bench.mjs

.PHONY: bench-batcher bench-e2e chaos
bench-batcher: build services
	@pnpm exec tsc -b services/batcher/bench
	@node services/batcher/dist-bench/bench/bench-batcher.js

.PHONY: bench-sweep
# Cleaner sweep vs GNU find on a 1,000,000-file sensor tree under /tmp (reused for 24 h): one JSON line.
bench-sweep: build
	@deploy/local/ensure-services.sh >&2
	@pnpm exec tsc -b services/cleaner/bench
	@node services/cleaner/dist-bench/bench/sweep-bench.js

.PHONY: check-alerts
# Prometheus alert rules: syntax and unit tests (installs promtool from Debian's prometheus package when missing).
check-alerts:
	@command -v promtool >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus >&2 \
	  || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus >&2; }
	@promtool check rules deploy/prometheus/alerts.yml
	@promtool test rules deploy/prometheus/alerts.test.yml

.PHONY: bench-clowder
# clowder-ingest: files registered in Clowder per second (simulator at its default 3 ms latency, 2 workers): one JSON line.
bench-clowder: build
	@deploy/local/ensure-services.sh >&2
	@pnpm exec tsc -b services/clowder-ingest/bench
	@node services/clowder-ingest/dist-bench/bench/ingest-bench.js

.PHONY: bench-metadata-conversion
# clowder-ingest: CPU per gantry metadata.json converted as terrautils' lemnatec.clean did (test fixtures): one JSON line.
bench-metadata-conversion: build
	@pnpm exec tsc -b services/clowder-ingest/bench
	@node services/clowder-ingest/dist-bench/bench/conversion-bench.js

.PHONY: bench-transfer-log
# transfer-log: a generated pipeline stream (BENCH_EVENTS over BENCH_FILES, cut at BENCH_SECONDS) loaded
# while it is queried; events/s committed, lineage and weekly-volume p99, bytes per event, RSS: one JSON line.
bench-transfer-log: build
	@deploy/local/ensure-services.sh >&2
	@pnpm exec tsc -b services/transfer-log/bench
	@node services/transfer-log/dist-bench/bench/transfer-log-bench.js

# The chaos test's long form (CI runs a 40 s one inside `make test`): its verdict is
# one JSON line on stdout (jest reports on stderr).
CHAOS_SECONDS ?= 600
chaos: build services
	@CHAOS_SECONDS=$(CHAOS_SECONDS) $(JEST) --ci test/chaos

.PHONY: outage
# Globus, then Clowder, down for (delivery limit + 1) × consumer timeout on a private broker (~7–8 min; part of `make test` too).
outage: build services
	@$(JEST) --ci test/outage

# log-tailer: replay a generated 1,000,000-line xferlog (files on disk, name resolution on)
# through the real tailer and the real broker; prints one JSON line.
.PHONY: bench-tailer
bench-tailer: build services
	@pnpm exec tsc -b services/log-tailer/bench
	@node services/log-tailer/dist-bench/bench/tailer-bench.js

# Whole-pipeline throughput and latency on BENCH_FILES generated uploads (one JSON line on stdout).
bench-e2e: build services
	@node packages/stack/dist/bench-e2e.js

.PHONY: clean-broker
# Removes what killed test runs leave on the local RabbitMQ (t-* queues without consumers, t-* vhosts).
clean-broker:
	@deploy/local/clean-broker.sh

.PHONY: bench-danforth
# Danforth: BENCH_SNAPSHOTS (300) snapshots of 10 images from the test Scanalyzer through the lemnatec source and the
# whole pipeline to the Clowder simulator (BENCH_SMALL=1: images with sides / 8): one JSON line.
# By default from a backlog (BENCH_PREFILL=1: the snapshots are committed before the stack starts) on a private
# RabbitMQ node whose CPU is counted: the Scanalyzer is its own machine, and generating 28 MB of blobs per snapshot
# on the same two cores measures the generator (BENCH_PREFILL=0 for the live form).
BENCH_PREFILL ?= 1
BENCH_PRIVATE_RABBIT ?= 1
bench-danforth: build services
	@BENCH_PREFILL=$(BENCH_PREFILL) BENCH_PRIVATE_RABBIT=$(BENCH_PRIVATE_RABBIT) node packages/stack/dist/bench-danforth.js

.PHONY: docker-tools image test-deploy
# Docker (Debian's docker.io), docker-compose (Debian's, v1) and debootstrap, installed when missing.
docker-tools:
	@deploy/docker/ensure-docker-tools.sh

# The production image (deploy/docker/Dockerfile) as terra-transfer:latest. BASE_IMAGE=local builds on a
# Debian bookworm + Node 24 base made here (no registry needed); BASE_IMAGE=node:24-bookworm-slim where one answers.
# With DOCKER_HOST set, that engine builds it; otherwise the project's own (deploy/docker/dockerd.sh), stopped after.
BASE_IMAGE ?= local
image: docker-tools
	@if [ -n "$${DOCKER_HOST:-}" ]; then BASE_IMAGE=$(BASE_IMAGE) deploy/docker/build-image.sh terra-transfer:latest; \
	else trap 'deploy/docker/dockerd.sh stop' EXIT; export DOCKER_HOST=$$(deploy/docker/dockerd.sh start); \
	  BASE_IMAGE=$(BASE_IMAGE) deploy/docker/build-image.sh terra-transfer:latest; fi

# The image built, the compose stack brought up on the project's own Docker engine, files moved through it,
# everything taken down (test/deploy); its verdict is one JSON line on stdout.
test-deploy: build services db docker-tools
	@$(JEST) --ci test/deploy

.PHONY: definitions
# deploy/rabbitmq/definitions.json from packages/contracts (the sites of deploy/compose/sites.example.yaml),
# and definitions.<side>.json for each broker of a two-broker deployment (decision 0028);
# test/deploy/rabbitmq-definitions.test.ts fails while the committed file differs.
definitions: build
	@node packages/contracts/dist/render-definitions.js --vhost terra --prefix terra \
	  --sites "$$(node -e "import('./packages/sites/dist/index.js').then(m=>console.log(m.loadSites('deploy/compose/sites.example.yaml').names().join(',')))")" \
	  > deploy/rabbitmq/definitions.json
	@for side in site datacentre; do node packages/contracts/dist/render-definitions.js --vhost terra --prefix terra --side $$side \
	  --sites "$$(node -e "import('./packages/sites/dist/index.js').then(m=>console.log(m.loadSites('deploy/compose/sites.example.yaml').names().join(',')))")" \
	  > deploy/rabbitmq/definitions.$$side.json; done

.PHONY: bench-census
# The cleaner's ledger census (terra_transfer_ledger_files) over BENCH_RECORDS records in the real Redis: one JSON line.
bench-census: build
	@deploy/local/ensure-services.sh >&2
	@pnpm exec tsc -b services/cleaner/bench
	@node services/cleaner/dist-bench/bench/census-bench.js
