# The two commands in the README. Each one sets up a fresh machine first (idempotent).
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test lint bench bench-accuracy docs

setup:
	bash scripts/setup.sh

## Track people in the bundled sample video with the zero-download default (HOG + classic encoder).
demo: setup
	$(PY) -m deepsort_lib.cli.main track data/vtest.avi -o out/vtest_tracked.mp4 --mot out/vtest_tracks.txt --show-fps

## Everything CI runs: lint, types, the whole test suite (incl. slow tests and notebooks), docs build.
test: setup
	bash scripts/check.sh

## Build the documentation site into site/ (CI builds it too, in tests/test_docs.py).
docs: setup
	$(VENV)/bin/mkdocs build --strict

lint: setup
	$(VENV)/bin/ruff check deepsort_lib tests benchmarks
	$(VENV)/bin/mypy

## Speed benchmarks (pytest-benchmark, peers side by side, ratios); writes benchmarks/results/.
bench: setup
	$(PY) -m pytest benchmarks -p no:cacheprovider --ignore=benchmarks/test_accuracy.py

## Accuracy vs peers (5 seeds, noise sweep) and the ablation of the tracker options.
bench-accuracy: setup
	bash scripts/setup_peers.sh
	.venv-peers/bin/python -m benchmarks.accuracy.run --seeds 5
	.venv-peers/bin/python -m benchmarks.accuracy.ablation --seeds 5
