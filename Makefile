# Roster: `make run` starts a dev agent, `make test` runs every test.
# Every target uses a Node.js >= 22.20 / 24.12: the one on PATH when it is new enough, otherwise a
# current LTS fetched from the npm registry (package node-linux-<arch>) into .node/, without root.
SHELL := /bin/bash
NODE_VERSION ?= 24.21.0
ARCH := $(shell uname -m | sed -e 's/x86_64/x64/' -e 's/aarch64/arm64/')
NODE_OK := $(shell node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.stdout.write(a>=25||(a===24&&b>=12)||(a===22&&b>=20)?"yes":"no")' 2>/dev/null)
ifeq ($(NODE_OK),yes)
NODE_DEP :=
else
NODE_DEP := .node/bin/node
export PATH := $(CURDIR)/.node/bin:$(PATH)
endif
APT_PKGS := redis-server dnsutils

.PHONY: all build run test unit integration typecheck check bench deps system-deps test-deps bench-deps apt-deps clean distclean

all: build

.node/bin/node:
	@echo "node on PATH is older than 22.20; fetching node-linux-$(ARCH)@$(NODE_VERSION) from the npm registry into .node/"
	@rm -rf .node .node.tmp && mkdir -p .node.tmp
	cd .node.tmp && npm pack --silent node-linux-$(ARCH)@$(NODE_VERSION) >/dev/null && tar xzf node-linux-$(ARCH)-$(NODE_VERSION).tgz
	mv .node.tmp/package .node && rm -rf .node.tmp
	@.node/bin/node -v

node_modules/.stamp: package.json package-lock.json $(NODE_DEP)
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: node_modules/.stamp

# Debian packages: the agent needs redis-server; the tests add dig, serf, dnsmasq, unbound, python3-consul and chromium (UI tests);
# the benchmarks add dnsperf, knot, nsd, nginx and wrk. Installed when missing and we are root.
RUN_PKGS := redis-server:redis-server dig:dnsutils /usr/lib/x86_64-linux-gnu/libjemalloc.so.2:libjemalloc2
TEST_PKGS := $(RUN_PKGS) serf:serf dnsmasq:dnsmasq-base unbound:unbound /usr/lib/python3/dist-packages/consul:python3-consul ip:iproute2 unshare:util-linux redis-sentinel:redis-sentinel openssl:openssl curl:curl chromium:chromium patroni:patroni /usr/lib/postgresql/15/bin/postgres:postgresql prometheus:prometheus
BENCH_PKGS := $(TEST_PKGS) dnsperf:dnsperf knotd:knot nsd:nsd nginx:nginx-light wrk:wrk

system-deps: ; @$(MAKE) --no-print-directory apt-deps PKGS="$(RUN_PKGS)"
test-deps: ; @$(MAKE) --no-print-directory apt-deps PKGS="$(TEST_PKGS)"
bench-deps: ; @$(MAKE) --no-print-directory apt-deps PKGS="$(BENCH_PKGS)"

apt-deps:
	@missing=""; for pair in $(PKGS); do cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  if [ "$${cmd#/}" != "$$cmd" ]; then [ -e "$$cmd" ] || missing="$$missing $$pkg"; \
	  else command -v "$$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$$cmd" ] || missing="$$missing $$pkg"; fi; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else echo "missing:$$missing. Install with: sudo apt-get install -y$$missing" >&2; exit 1; fi; fi

# The web UI (ui/, Preact + esbuild) is built into dist/ui with gzip twins; the agent serves it at /ui/.
build: deps
	npx tsc -p tsconfig.build.json
	@cd src && find . -name '*.lua' -exec install -D -m 0644 {} ../dist/src/{} \;  # Lua scripts beside their loader (src/store/script.ts)
	@chmod +x bin/roster
	node ui/build.ts

typecheck: deps
	npx tsc -p tsconfig.json --noEmit
	npx tsc -p ui/tsconfig.json --noEmit

# No import cycle (test/layout.test.ts checks the same and the other layout rules).
check: typecheck
	npx madge --circular --extensions ts src

run: build system-deps
	bin/roster agent -dev

unit: build
	npx ava 'test/**/*.test.ts'

integration: build test-deps
	npx ava 'integration/**/*.test.ts'

test: build test-deps check
	npx ava

bench: build bench-deps
	bench/run.sh

clean:
	rm -rf dist .data

distclean: clean
	rm -rf node_modules .node
