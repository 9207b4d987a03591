# One task runner for the README, CI and pre-commit alike.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: install dev build test test-rust lint lint-rust lint-python test-python bench bench-agent clean

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install -U pip

# The agent, installed with its release-built core.
install: $(PY)
	$(PIP) install .

# An editable development install with the test and lint tools. The native module is
# built with the dev profile, so it shares compiled dependencies with `cargo test`.
dev: $(PY)
	MATURIN_PEP517_ARGS="--profile dev" $(PIP) install -e '.[dev]'

# Rebuild the native module in place after Rust changes.
build: $(PY)
	$(VENV)/bin/maturin develop -q

test: dev test-rust lint test-python

test-rust:
	# skipjack-py is selected (it has no Rust tests) so features resolve as in the maturin
	# build, and the test build reuses the dev install's compiled dependencies.
	cargo test --locked -p skipjack-llm -p skipjack-py --features pyo3/extension-module

lint: lint-rust lint-python

lint-rust:
	cargo clippy --locked --workspace --all-targets -- -D warnings
	cargo fmt --all --check

lint-python:
	$(VENV)/bin/ruff check python tests bench scripts
	$(VENV)/bin/ruff format --check python tests bench scripts
	$(VENV)/bin/mypy
	$(PY) -m mypy.stubtest skipjack._llm --allowlist stubtest-allowlist.txt

test-python:
	$(PY) -m pytest -q

# skipjack against its peers. Builds its own venv under .cache/ (release core, pinned peers),
# so the development venv keeps its dev-profile core.
bench:
	bash bench/setup.sh
	.cache/bench-venv/bin/python bench/run.py

# The whole agent against its peers on one scripted task (bench/agent/README.md): skipjack from
# the release wheel, each peer at a pinned version in its own venv under .cache/. ~25 minutes.
bench-agent:
	bash bench/agent/setup.sh
	.cache/bench-venv/bin/python bench/agent/run.py

clean:
	rm -rf $(VENV) target
