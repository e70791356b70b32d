# GPT-2, step by step. Every target sets itself up: a fresh clone needs only Python 3.11.
#   make lab      create .venv if missing, install the pinned environment, open JupyterLab
#   make test     the same set-up, then ruff + pytest (unit tests and nbval on every notebook)
#   make execute  re-execute every notebook in place (after changing one)
#   make bench    print helpers / transformers speed ratios

SHELL   := /bin/bash
PYTHON  ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# stored outputs are made without progress bars, so the tests see the same text
export TQDM_DISABLE := 1
export PYTHONHASHSEED := 0

.PHONY: setup lab test lint execute bench clean

# Stored widgets show only as "Loading widget..." or their Python repr outside a live kernel,
# and their saved state (a snapshot of every slider and figure) bloats the file; each widget has
# a static figure beside it, so drop the widget outputs and state from the stored notebook.
define STRIP_WIDGET_STATE
import json, sys
path = sys.argv[1]
nb = json.load(open(path, encoding="utf-8"))
nb["metadata"].pop("widgets", None)
WIDGET = "application/vnd.jupyter.widget-view+json"
for cell in nb["cells"]:
    if cell["cell_type"] == "code":
        cell["outputs"] = [o for o in cell["outputs"] if WIDGET not in o.get("data", {})]
        cell["metadata"].pop("execution", None)  # run timestamps: noise in every diff
open(path, "w", encoding="utf-8").write(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
endef
export STRIP_WIDGET_STATE

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is needed, found " + sys.version.split()[0] + ": run make PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

# extra JupyterLab options, e.g. make lab LAB_ARGS="--no-browser --port 8890"
LAB_ARGS ?=

lab: setup
	unset TQDM_DISABLE; $(BIN)/jupyter lab --ServerApp.root_dir=notebooks $(LAB_ARGS)

lint: setup
	$(BIN)/ruff check helpers tests notebooks benchmarks

test: lint
	$(BIN)/python -m pytest

execute: setup
	for nb in notebooks/[0-9]*.ipynb; do \
	  echo "executing $$nb"; \
	  $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=600 "$$nb" || exit 1; \
	  $(BIN)/python -c "$$STRIP_WIDGET_STATE" "$$nb" || exit 1; \
	done

bench: setup
	$(BIN)/python benchmarks/bench_model.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
