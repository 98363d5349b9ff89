# The two commands of the README, plus helpers. Every target installs what is missing first.
BUILD ?= build
JOBS ?= $(shell nproc)
# Tests spend about a third of their time waiting on processes and sockets, so one more
# runs beside them (instrumented ones' deadlines are scaled for it: docs/security.md).
TEST_JOBS ?= $(shell echo $$(( $(JOBS) + 1 )))
MAKEFLAGS += --no-print-directory
CMAKE_FLAGS ?=

.PHONY: all bootstrap configure build web run check test test-sanitize test-tsan bench bench-overhead bench-client bench-hostile bench-auth bench-live bench-admin bench-web soak fuzz package clean

all: build

bootstrap:
	@scripts/bootstrap

configure: bootstrap
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAVSYNC_WEB=ON $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# The web client (clients/web): npm ci, then its package, its demo and its tests' bundles.
web: configure
	@cmake --build $(BUILD) --target web

# Checks the port first (LISTEN=HOST:PORT, default 127.0.0.1:8080), then builds only the
# server, the CLI and the web client (for the demo at /demo/).
run:
	@scripts/dev-run --check-port
	@$(MAKE) configure
	@cmake --build $(BUILD) -j $(JOBS) --target avsync-server avsync web
	@scripts/dev-run $(BUILD)

# Every test of the plain build (PostgreSQL and the browser included), no sanitizer builds.
# make check (and so make test) builds everything but the benchmarks; the bench targets
# build them.
check: CMAKE_FLAGS += -DAVSYNC_BENCH=OFF
check: build
	@scripts/check-layering
	@cd $(BUILD) && ctest --output-on-failure -j $(TEST_JOBS) --timeout 300

# Every test, then every test again under ASan+UBSan and under TSan.
test: check
	@$(MAKE) test-sanitize
	@$(MAKE) test-tsan

bench bench-overhead bench-hostile bench-auth bench-client bench-live bench-admin bench-web: CMAKE_FLAGS += -DAVSYNC_BENCH=ON
bench: build
	@scripts/bench $(BUILD) $(ARGS)

# What metrics cost push throughput: this build's server against BASE (another build's
# avsync-server), alternately, scraping /metrics every second (scripts/bench-overhead).
bench-overhead: build
	@scripts/bench-overhead $(BUILD) $(BASE) $(ARGS)

# The server under hostile load (idle connections, large pulls, large bodies), each figure
# beside its baseline; ARGS="--db postgres" for PostgreSQL.
bench-hostile: build
	@scripts/bench-hostile $(BUILD) $(ARGS)

# What authenticating a request costs: a device token beside a JWT of each algorithm
# (medians of five repetitions).
bench-auth: build
	@$(BUILD)/bench/avsync-auth-bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

# libFuzzer targets (clang, ASan+UBSan) for SECONDS each (default 60).
fuzz: bootstrap
	@SECONDS_PER_TARGET=$(or $(SECONDS),60) scripts/fuzz

# The convergence check for DURATION seconds (default 600) on both stores.
soak: build
	@scripts/soak $(BUILD)

# The client SDK: durable local writes per second, and a 50,000-row initial sync.
bench-client: build
	@scripts/bench-client $(BUILD) $(ARGS)

# Live sync: how fast a pushed change reaches 1, 10 and 100 devices in live mode, on SQLite and
# on a throwaway PostgreSQL cluster, and the server's memory, open files and shutdown time
# with 10,000 waiting long-polls (medians of RUNS, default 3). Builds only what it runs.
bench-live: configure
	@cmake --build $(BUILD) -j $(JOBS) --target avsync-live-bench avsync-server
	@$(BUILD)/bench/avsync-live-bench --runs $(or $(RUNS),3) $(ARGS)

# The operations console's searches (GET /admin/operations, /admin/conflicts) with 10 million
# operation log rows over 1,000 businesses, on SQLite and on a throwaway PostgreSQL cluster:
# median and p99 of each filter combination against the 50 ms target. ARGS="--rows 1000000"
# seeds less. Builds only what it runs.
bench-admin: configure
	@cmake --build $(BUILD) -j $(JOBS) --target avsync-admin-bench avsync-server
	@$(BUILD)/bench/avsync-admin-bench --runs $(or $(RUNS),3) $(ARGS)

# The web client in headless Chromium: durable local writes per second and a 50,000-row
# initial sync, each beside raw IndexedDB doing the same work (medians of RUNS, default 5).
bench-web: build
	@cd clients/web && AVSYNC_SERVER=$(CURDIR)/$(BUILD)/src/server/avsync-server node dist-test/bench/browser-bench.mjs

# A .deb of what `cmake --install` puts in place, in $(BUILD) (docs/install.md).
package: build
	@cd $(BUILD) && cpack -G DEB

clean:
	rm -rf $(BUILD)

# The whole suite built with AddressSanitizer and UndefinedBehaviorSanitizer. The sanitizer
# builds leave out what their tests do not run: the benchmarks, the installed SDK and its
# install test (CMakeLists.txt), and for TSan the tests that start no thread.
test-sanitize: bootstrap
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DAVSYNC_SANITIZE=address,undefined -DAVSYNC_BENCH=OFF >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --output-on-failure -j $(TEST_JOBS) --timeout 600

# The suite built with ThreadSanitizer: the server's threads, group commit and the
# concurrent tests. A report aborts the process, which fails its test. TSan finds races
# only where a process runs more than one thread, so this build leaves out what never does:
# core_test (core has no threads), the fuzz corpus replays, and the integration tests that
# only read help, usage errors or the OpenAPI document (tests/CMakeLists.txt).
test-tsan: bootstrap
	@cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DAVSYNC_SANITIZE=thread -DAVSYNC_BENCH=OFF >/dev/null
	@cmake --build build-tsan -j $(JOBS)
	@cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
		ctest --output-on-failure -j $(TEST_JOBS) --timeout 600
