# spatial-deploy: two commands on a fresh Debian 12 machine.
#   make run    installs what is missing, builds, runs the 8-stage pipeline for
#               the shipped spatial model (scripts/ci/run_spatial_pipeline.sh)
#   make test   installs what is missing, builds, runs every test
#   make container-test   builds Dockerfile.spatial with podman, runs and probes it
#   make fleet-test       plays deploy/k8s with podman: 2 replicas following a
#                         PostgreSQL registry (reuses container-test's image)
PRESET ?= release
BUILD_DIR := build/$(PRESET)
JOBS ?= $(shell nproc)
SPATIAL := $(BUILD_DIR)/cli/spatial

.PHONY: all deps build test run demo bench train asan tsan fuzz ci-sanitize format tidy clean container-test fleet-test

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build $(BUILD_DIR) -j$(JOBS)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS) --timeout 600

# Builds the image from scratch in a private podman storage (no Docker engine,
# no registry), runs it, probes it, removes it; then a broken Dockerfile must
# fail with the build's own error.
# CONTAINER_STORAGE=DIR: keep the image built here in DIR (as
# localhost/pizza-api-spatial:latest) for `make fleet-test` (CI passes both).
CONTAINER_STORAGE ?=
container-test:
	@bash scripts/container-test.sh $(if $(CONTAINER_STORAGE),--storage $(CONTAINER_STORAGE) --keep-image localhost/pizza-api-spatial:latest)
	@bash tests/container/broken_dockerfile_test.sh

# Plays deploy/k8s (deploy/k8s/podman) with podman kube play: two replicas
# following one PostgreSQL registry; promotion, metrics, Prometheus, a replica
# stopped under load, rollback (scripts/fleet-test.sh). With CONTAINER_STORAGE
# it plays the image container-test kept there and removes that storage at
# the end; alone it builds the image once in a temp storage.
fleet-test: build
	@bash scripts/fleet-test.sh --spatial $(SPATIAL) $(if $(CONTAINER_STORAGE),--storage $(CONTAINER_STORAGE) --remove-storage)

# PIPELINE_ARGS go to `spatial pipeline run`, e.g. PIPELINE_ARGS=--container-build.
PIPELINE_ARGS ?=
run: build
	@bash scripts/ci/run_spatial_pipeline.sh --spatial $(SPATIAL) -- $(PIPELINE_ARGS)

# The short registry demo (the former `make run`).
demo: build
	@bash scripts/demo.sh $(SPATIAL)

train: build
	@SPATIAL=$(SPATIAL) bash training/reproduce.sh

bench: build
	@bash bench/run_all.sh $(BUILD_DIR)

asan:
	@$(MAKE) test PRESET=asan

tsan:
	@$(MAKE) test PRESET=tsan

# libFuzzer on every parser of outside input, FUZZ_SECONDS (60) per target
# (fuzz/run.sh, docs/RELIABILITY.md).
FUZZ_SECONDS ?= 60
fuzz:
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash fuzz/run.sh

# CI's sanitizers: unit tests under ASan+UBSan, the threaded tests under TSan,
# 20 s of each fuzz target; builds only what they need
# (scripts/ci/sanitize.sh).
ci-sanitize: deps
	@bash scripts/ci/sanitize.sh

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

tidy: build
	@git ls-files 'src/*.cc' 'cli/*.cc' | grep -v _test.cc | xargs clang-tidy -p $(BUILD_DIR) --quiet

clean:
	@rm -rf build
