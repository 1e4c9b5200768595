# The commands a newcomer types. The real build is CMake (see CMakeLists.txt).
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all build test asan demo bench fuzz fuzz-smoke clean deps

all: build

# Install the Debian packages that are missing (as root directly, else through sudo, else stop with the command
# to run). Quick when nothing is missing: it only asks dpkg.
deps:
	@bash scripts/install-deps.sh --auto

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j 1

asan: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDOLOR_SANITIZE=ON -DDOLOR_BENCH=OFF
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 DOLOR_ASAN=1 ctest --output-on-failure -j 1

demo: build
	bash scripts/demo.sh $(BUILD)/dolor

bench: build
	bash bench/run.sh $(BUILD)

# libFuzzer targets fuzz/fuzz_*.c in build-fuzz (clang, ASan + UBSan); docs/fuzzing.md
fuzz:
	@bash scripts/install-deps.sh --auto --fuzz
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDOLOR_FUZZ=ON -DDOLOR_SANITIZE=ON -DDOLOR_BENCH=OFF
	cmake --build build-fuzz -j $(JOBS) --target $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))

# every fuzz target for 60 s over its committed corpus fuzz/corpus/<target>/, two at a time: one line per target,
# fails if any target crashes
fuzz-smoke: fuzz
	bash scripts/fuzz-run.sh -b build-fuzz -t 60 -j 2

clean:
	rm -rf $(BUILD) build-asan build-fuzz
