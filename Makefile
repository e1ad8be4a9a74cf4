# sotmot_ros: set-up, demo, tests, benchmarks. Every target first runs the (idempotent) set-up.
#
#   make setup    venv + ROS 2 (PyPI wheels, or the sourced ROS 2 installation) + colcon build -> install/
#   make demo     PETS09-S2L1 frames 1-397 -> video_publisher -> sotmot_node -> result_recorder -> $(DEMO_OUT)/
#   make test     pytest test/ in the built environment (Fast DDS shared-memory profile)
#   make bench    detector/SOT and association timing benchmarks -> $(BENCH_OUT)/
#
# Variables: DEMO_OUT (out/demo), DEMO_ARGS (e.g. "--rviz", "--mode processes", "--params-file x.yaml"),
# PYTEST_ARGS (e.g. "-k ros -x"), BENCH_OUT (out/bench), BENCH_ARGS (bench_model.py options).
# Environment: SOTMOT_FASTDDS_PROFILE= (empty) runs without config/fastdds_shm.xml; see scripts/setup_env.sh
# for the set-up's knobs.

SHELL := /bin/bash
ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
ENV := source "$(ROOT)/scripts/env.sh"
DEMO_OUT ?= out/demo
DEMO_ARGS ?=
PYTEST_ARGS ?=
BENCH_OUT ?= out/bench
BENCH_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup demo test bench

help:
	@sed -n '2,12p' "$(ROOT)/Makefile" | sed 's/^# \{0,1\}//'

setup:
	@bash "$(ROOT)/scripts/setup_env.sh"

demo: setup
	@cd "$(ROOT)" && $(ENV) && video="$$(bash scripts/demo_clip.sh)" && \
	  python -m sotmot_ros.demo.demo_runner --video "$$video" --output "$(DEMO_OUT)" $(DEMO_ARGS)

# pytest exits 5 when it collects no test: not a failure of the set-up.
test: setup
	@cd "$(ROOT)" && { bash scripts/fetch_demo_video.sh >/dev/null || \
	    echo "warning: no demo video (apt-get download opencv-doc failed); tests that need it skip"; } && \
	  $(ENV) && echo "FASTDDS_DEFAULT_PROFILES_FILE=$${FASTDDS_DEFAULT_PROFILES_FILE:-<Fast DDS defaults>}" && \
	  { pytest test/ $(PYTEST_ARGS); rc=$$?; \
	    if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; rc=0; fi; exit $$rc; }

bench: setup
	@cd "$(ROOT)" && bash scripts/fetch_demo_video.sh >/dev/null && mkdir -p "$(BENCH_OUT)" && $(ENV) && \
	  python bench/bench_model.py --json "$(BENCH_OUT)/bench_model.json" $(BENCH_ARGS) && \
	  python bench/bench_association.py | tee "$(BENCH_OUT)/bench_association.txt"
