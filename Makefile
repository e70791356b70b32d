# GPT-2, step by step. Every target sets itself up: a fresh clone needs only Python 3.11.
#   make lab      create .venv if missing, install the pinned environment, open JupyterLab
#   make test     the same set-up, then ruff + pytest (unit tests, browser, nbval on every notebook:
#                 the Chinese ones with this CPU's float kernels, the English ones with others')
#   make test-fast      the unit tests alone, for the inner loop (no nbval, no browser)
#   make test-portable  nbval on the English notebooks under other CPUs' float kernels
#   make execute  re-execute every notebook in place (after changing one; NB=path for one)
#   make bench    print speed ratios against transformers and llms-from-scratch, widget redraw times

SHELL   := /bin/bash
PYTHON  ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# stored outputs are made without progress bars, so the tests see the same text
export TQDM_DISABLE := 1
export PYTHONHASHSEED := 0

.PHONY: setup lab test test-fast test-portable lint execute bench clean slides book

# the JavaScript bertviz's views need (notebook 11), fetched from the npm registry into the
# git-ignored .cache/js; quiet when present, one line saying why when it cannot be fetched
setup: $(STAMP)
	@$(BIN)/python tools/fetch_js_assets.py || true

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is needed, found " + sys.version.split()[0] + ": run make PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@# JupyterLab 4 has MathJax built in; jupyterlab-rise's old mathjax3 extension is not needed
	$(BIN)/jupyter labextension disable --level=sys_prefix @jupyterlab/mathjax3-extension >/dev/null 2>&1
	@touch $(STAMP)

# extra JupyterLab options, e.g. make lab LAB_ARGS="--no-browser --port 8890"
LAB_ARGS ?=

# root (the usual user in Docker) must pass --allow-root; say so in one line and go on
lab: setup
	@if [ "$$(id -u)" = 0 ]; then echo "make lab: running as root (as in Docker), so JupyterLab is started with --allow-root"; fi
	unset TQDM_DISABLE; $(BIN)/jupyter lab --ServerApp.root_dir=notebooks \
	  $$( [ "$$(id -u)" = 0 ] && echo --allow-root ) $(LAB_ARGS)

lint: setup
	$(BIN)/ruff check --no-cache helpers exercises tests tools notebooks benchmarks

# every notebook once: the Chinese ones with this machine's float kernels, the English ones
# under other CPUs' kernels (test-portable, below). Their code is the same (tests/test_zh.py), so
# between them each notebook's stored outputs hold under both, and the unit tests run once.
test: lint
	$(BIN)/python -m pytest tests notebooks/zh
	@$(MAKE) --no-print-directory test-portable

# the unit tests only: tests/ holds no notebook, and the browser tests are left out
test-fast: lint
	$(BIN)/python -m pytest -q tests --ignore=tests/test_browser_lab.py \
	  --ignore=tests/test_browser_attention_views.py

# other CPUs' float kernels, imitated on this one (see README, "Tests"): nbval over the English
# notebooks with the settings that change the low bits of softmax and LayerNorm (ATen's kernels
# without vector instructions), of matrix products (MKL's portable kernels) and of reductions
# (3 threads) combined. make test runs it after the unit tests and the Chinese notebooks, which
# run with this machine's own kernels: the Chinese code is the English code and
# tests/test_zh.py proves its outputs equal to the English ones wherever they hold no Chinese,
# so each stored output is checked under both. OMP_WAIT_POLICY=PASSIVE changes no number: idle
# threads sleep instead of spinning, which saves a tenth of the time with 3 threads on 2 cores.
# Add a line to run nbval under more settings: with OMP_NUM_THREADS=1 instead of 3 every notebook
# passed too, in 13 minutes instead of about 9 (one thread trains slowly).
PORTABLE_SETTINGS := \
  "ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE OMP_NUM_THREADS=3 OMP_WAIT_POLICY=PASSIVE"

test-portable: setup
	@for setting in $(PORTABLE_SETTINGS); do \
	  echo "== nbval under $$setting"; \
	  env $$setting $(BIN)/python -m pytest -q notebooks --ignore=notebooks/zh || exit 1; \
	done

NB ?= notebooks/[0-9]*.ipynb notebooks/solutions/*.ipynb notebooks/zh/[0-9]*.ipynb \
  notebooks/zh/solutions/*.ipynb

# every lesson as an offline reveal.js deck in build/slides/ (reveal.js, require.js and MathJax
# are fetched once from the npm registry into the git-ignored .cache/js)
slides: setup
	$(BIN)/python tools/slides.py --build

# the executed series as a static HTML book in build/book/ (open index.html), offline
book: setup
	$(BIN)/python tools/book.py

# the checks run by tests and by make execute record no verdicts in the user's progress file
test test-fast test-portable execute: export GPT2_STEP_BY_STEP_PROGRESS = off

execute: setup
	$(BIN)/python tools/execute_notebooks.py $(NB)

# the llms-from-scratch peer declares requirements that conflict with the pins; its model
# modules need only torch, so it is installed without them (its row is skipped when absent)
bench: setup
	@$(BIN)/python -m pip install --quiet --no-deps llms-from-scratch==1.0.19 \
	  || echo "make bench: llms-from-scratch could not be installed; its row is skipped"
	$(BIN)/python benchmarks/bench_model.py
	$(BIN)/python benchmarks/bench_training.py
	$(BIN)/python benchmarks/bench_widgets.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
