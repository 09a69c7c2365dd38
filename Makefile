# The two commands: `make run` and `make test`. Everything else is a helper.
#
#   make run     build (release) and start trident with its embedded defaults
#   make test    install missing dependencies, build with sanitizers, run
#                every unit and integration test
#   make build   release build only, into build/
#   make bench   the side-by-side benchmarks (loadtest/)

BUILD      ?= build
TEST_BUILD ?= build-test
JOBS       ?= $(shell nproc)
RUN_ARGS   ?=

.PHONY: all build run test deps test-build unit integration bench clean

all: build

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTR_BUILD_TESTS=OFF

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

run: build
	mkdir -p data
	./$(BUILD)/trident -target=all $(RUN_ARGS)

deps:
	scripts/install-deps

$(TEST_BUILD)/CMakeCache.txt:
	cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTR_WERROR=ON \
	      -DTR_ASAN=ON -DTR_UBSAN=ON -DTR_BUILD_TESTS=ON

test-build: $(TEST_BUILD)/CMakeCache.txt
	cmake --build $(TEST_BUILD) -j$(JOBS)

test: deps
	$(MAKE) test-build
	cd $(TEST_BUILD) && ctest --output-on-failure -j$(JOBS)

unit: test-build
	cd $(TEST_BUILD) && ctest --output-on-failure -L unit -j$(JOBS)

integration: test-build
	cd $(TEST_BUILD) && ctest --output-on-failure -L integration

bench: build
	loadtest/bench-metrics --out $(BUILD)/bench

clean:
	rm -rf $(BUILD) $(TEST_BUILD)
