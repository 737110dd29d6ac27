# snnlab: the two commands a newcomer needs are `make lab` and `make test`.
# Everything installs into a local virtual environment (.venv); nothing touches the system Python.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The CPU build of torch is taken when no torch is importable (on the project's machines this pin
# resolves to a CPU wheel already on disk). Override with `make TORCH_SPEC=torch ...` if you like.
TORCH_SPEC ?= torch==2.13.0
STAMP  := $(VENV)/.snnlab-installed
JOBS   ?= 2

.PHONY: setup lab demo test test-fast lint bench notebooks student clean claims

setup: $(STAMP)

$(STAMP): pyproject.toml
	@if $(PYTHON) -c "import torch" 2>/dev/null; then \
	  echo "[setup] reusing the torch already installed for $(PYTHON)"; \
	  $(PYTHON) -m venv --system-site-packages $(VENV); \
	else \
	  $(PYTHON) -m venv $(VENV); \
	fi
	@$(PY) -m pip install -q --upgrade pip >/dev/null 2>&1 || true
	@$(PY) -c "import torch" 2>/dev/null || { echo "[setup] installing $(TORCH_SPEC)"; \
	  $(PY) -m pip install -q "$(TORCH_SPEC)" || $(PY) -m pip install -q torch; }
	@echo "[setup] installing snnlab with its lab, test and dev extras"
	@$(PY) -m pip install -q -e ".[lab,test,dev]"
	@# Norse 1.1 requires torchvision (and so a CUDA torch): take it without dependencies; it
	@# needs only numpy, torch, nir and nirtorch, which the extras above install
	@$(PY) -m pip install -q --no-deps norse==1.1.0 || echo "[setup] norse not installed: its NIR tests will be skipped"
	@# SpikingJelly (a peer in the benchmarks) likewise: its dependencies would pull a CUDA torch
	@$(PY) -m pip install -q --no-deps spikingjelly==0.0.0.0.14 || echo "[setup] spikingjelly not installed: the benchmarks skip its rows"
	@touch $(STAMP)

lab: setup
	$(PY) -m jupyter lab notebooks/

demo: setup
	$(PY) -m snnlab compare --rules bptt,ottt,rate_bp,tandem,ltl --data digits --epochs 5

test: setup
	$(PY) -m ruff check snnlab tests benchmarks
	$(PY) -m pytest -q -p no:cacheprovider

test-fast: setup
	$(PY) -m pytest -q -p no:cacheprovider -m "not notebooks and not slow"

lint: setup
	$(PY) -m ruff check .

bench: setup
	$(PY) benchmarks/bench_bptt.py
	$(PY) benchmarks/bench_conv.py --memory

# Re-execute every notebook in full mode and store the outputs (what Binder and GitHub show).
notebooks: setup
	$(PY) -m snnlab notebooks run --jobs $(JOBS)

# The claims ledger in full (estimated ~30 minutes on one CPU thread): record it, then
# regenerate the README's table from the record.
claims: setup
	$(PY) -m snnlab.claims run --record data/results/claims.json
	$(PY) -m snnlab.claims.readme --record data/results/claims.json --readme README.md
	$(PY) -m snnlab.claims figures --file data/results/claims.json --out data/results/claims

# Student versions (solutions removed) in notebooks/student/
student: setup
	$(PY) -m snnlab notebooks student

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
