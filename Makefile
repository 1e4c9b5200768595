# The commands a newcomer types. The real build is CMake (see CMakeLists.txt).
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all build test asan demo bench fuzz clean deps

all: build

deps:
	bash scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j 1

asan:
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDOLOR_SANITIZE=ON -DDOLOR_BENCH=OFF
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 DOLOR_ASAN=1 ctest --output-on-failure -j 1

demo: build
	bash scripts/demo.sh $(BUILD)/dolor

bench: build
	bash bench/run.sh $(BUILD)

fuzz:
	bash scripts/install-deps.sh --fuzz >/dev/null || true
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDOLOR_FUZZ=ON -DDOLOR_SANITIZE=ON -DDOLOR_BENCH=OFF
	cmake --build build-fuzz -j $(JOBS)

clean:
	rm -rf $(BUILD) build-asan build-fuzz
