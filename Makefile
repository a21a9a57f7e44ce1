# evercert — the commands of the README. Each installs missing Debian packages first.
MAKEFLAGS  += --no-print-directory
BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
CONFIG     ?= etc/evercert.conf
STATE_DIR  ?= var
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 30
PREFIX     ?= /usr/local
DEB_BUILD  ?= build-deb

.PHONY: all deps build programs install deb run run-cluster demo test test-unit test-asan test-tsan lint fuzz bench bench-growth soak clean

all: build

deps:
	@bash scripts/deps.sh

$(BUILD)/Makefile: CMakeLists.txt
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

# The three programs (and the manual pages when scdoc is there), without the tests.
programs: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS) --target install-parts

# Installs under PREFIX, staged under DESTDIR when given (dist/CMakeLists.txt lists what).
install: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	cmake --build $(BUILD) -j $(JOBS) --target install-parts
	DESTDIR=$(DESTDIR) cmake --install $(BUILD)

# The Debian package, built from a copy of the tree in DEB_BUILD, where the .deb lands.
deb: deps
	bash scripts/build-deb.sh $(DEB_BUILD)

# The main job: a CA named ROOTCA on the shipped configuration, listening on 127.0.0.1:8080.
run: programs
	./$(BUILD)/evercertd --config $(CONFIG) --state-dir $(STATE_DIR) --foreground

# The cluster of docs/CLUSTER.md on loopback: PostgreSQL, two nodes of ROOTCA, HAProxy on :8080.
run-cluster: build
	bash scripts/run-cluster.sh $(BUILD)

# The build's output goes to a log, shown only when the build fails: the demo's own lines come first.
demo: deps $(BUILD)/Makefile
	@cmake --build $(BUILD) -j $(JOBS) >$(BUILD)/demo-build.log 2>&1 || { cat $(BUILD)/demo-build.log; exit 1; }
	@bash scripts/demo.sh $(BUILD)

# Enrollment throughput of evercertd beside the scep package's server, and the RSA bound.
bench: build
	bash bench/run.sh $(BUILD)

bench-growth: build
	bash bench/growth.sh $(BUILD)

# The long checks: 100 SIGKILLs of the CA under concurrent enrollments, then a memory soak of
# SOAK_SECONDS (600) under the load generator.
soak: build
	CRASH_ITERATIONS=100 EVERCERT_BUILD=$(abspath $(BUILD)) bash tests/integration/test_crash.sh
	bash bench/soak.sh $(BUILD)

lint:
	@bash scripts/lint.sh

test: build lint
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

# The whole suite built with AddressSanitizer and UndefinedBehaviorSanitizer, but for the Debian
# package's test (label package): it builds the package from its own copy of the tree with the
# packaging's flags, so a sanitizer build adds nothing to it but minutes.
test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DEVERCERT_SANITIZE=ON >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS) -LE package

# Built with ThreadSanitizer: the unit tests (the store's group commit, trust snapshots replaced
# under readers, tasks taking turns with a loop) and the integration tests where HTTP threads
# serve concurrent requests beside the main thread, or the daemon's tasks (trustpoints, servers'
# timers, operator connections) take turns with its loop (TSAN_TESTS). A race reported by a test
# program fails it, and so does one in a daemon's log. ThreadSanitizer runs several times slower:
# the long scenarios (the crash loop, the connection limits, recovery, the operator's commands,
# post-install timings) stay in test and test-asan.
TSAN_TESTS ?= ^unit\.|^integration\.test_(authz|http|client|revocation|signals|scep_client)$$
test-tsan: deps
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEVERCERT_TSAN=ON >/dev/null
	cmake --build $(TSAN_BUILD) -j $(JOBS)
	cd $(TSAN_BUILD) && CRASH_ITERATIONS=3 TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1" \
	  ctest --output-on-failure -j $(JOBS) -R '$(TSAN_TESTS)'

# Each libFuzzer target for FUZZ_SECONDS seconds on its seed corpus.
fuzz: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DEVERCERT_FUZZ=ON -DEVERCERT_SANITIZE=ON >/dev/null
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	bash scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD) $(DEB_BUILD)
