# Every target bootstraps .venv on a fresh machine first; `make demo` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint serve chat bench bench-quality bench-stats clean

# The Python check comes first: a .venv made by an older Python failed pip's install, and stayed, so that
# `make demo PYTHON=python3.12` went on using it.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
		echo "support-router needs Python 3.11 or later, and $(PYTHON) is older (or missing):" \
			"name one, e.g. make $(MAKECMDGOALS) PYTHON=python3.12" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/support-router demo

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check bot router tests benchmarks
	$(BIN)/ruff format --check bot router tests benchmarks
	$(BIN)/mypy

serve: $(STAMP)
	$(BIN)/support-router serve

chat: $(STAMP)
	$(BIN)/support-router chat

bench: $(STAMP)
	$(BIN)/python -m benchmarks.burst

bench-quality: $(STAMP)
	$(BIN)/python -m benchmarks.quality

bench-stats: $(STAMP)
	$(BIN)/python -m benchmarks.stats_bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
