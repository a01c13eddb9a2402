# The two commands in the README (`make demo`, `make test`), plus the developer's inner loop.
# Each one sets up what it needs first (idempotent).
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup setup-demo demo test check test-slow test-convert test-accuracy lint bench bench-accuracy docs

setup:
	bash scripts/setup.sh test

setup-demo:
	bash scripts/setup.sh demo

## Track people in the bundled sample video with the zero-download default (HOG + classic encoder).
demo: setup-demo
	$(PY) -m deepsort_lib.cli.main track data/vtest.avi -o out/vtest_tracked.mp4 --mot out/vtest_tracks.txt --show-fps

## Everything CI runs: lint, types, fast and slow tests (incl. notebook, docs build), the
## TensorFlow converter tests in their own venv, and the reduced accuracy benchmark vs peers.
test: setup
	bash scripts/check.sh

## The inner loop (well under a minute): lint, types and the fast tests.
check: setup
	bash scripts/check.sh fast

## The stages `make test` adds to `make check`, one at a time.
test-slow: setup
	$(PY) -m pytest tests -q -m "slow and not convert"

test-convert: setup
	bash scripts/setup_convert.sh
	.venv-convert/bin/python -m pytest tests/test_reid_tf_convert.py -q -m convert

test-accuracy: setup
	bash scripts/setup_peers.sh
	.venv-peers/bin/python -m pytest benchmarks/test_accuracy.py -q -p no:cacheprovider

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
