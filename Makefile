# The only entry points of the tutorial. `make help` lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/requirements.stamp
# Jupyter kernels and tools resolve `python` and `jupyter` on PATH: make it the venv's.
export PATH := $(BIN):$(PATH)

.PHONY: help venv run test lint lab book html browser bench mutation ledger clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

# Re-created only when requirements.txt is newer than the stamp: instant otherwise.
$(STAMP): requirements.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

venv: $(STAMP)  ## create .venv from requirements.txt (when missing or changed)

run: $(STAMP)  ## execute every notebook in place; rewrites data/ and figures/
	$(VENV)/bin/python tests/run_notebooks.py

test: lint browser  ## ruff, then the unit tests, nbval over the notebooks, and the site in a browser
	$(VENV)/bin/python -m pytest

lint: $(STAMP)  ## ruff check and ruff format --check over the modules, tests and notebooks
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

lab: $(STAMP)  ## start JupyterLab at the repository root
	$(VENV)/bin/jupyter lab --notebook-dir=$(CURDIR) $(if $(filter 0,$(shell id -u)),--allow-root)

book: $(STAMP)  ## the tutorial as one static site in build/book/ (open build/book/index.html)
	$(VENV)/bin/python book/build.py

html: book  ## the same as make book (its old name)

# tests/test_book.py opens the site in Debian's chromium; book/build.py fetches MathJax once with npm.
# When either is missing and make runs as root (CI does), apt-get installs it (a minute or two, once);
# otherwise this says what is missing, and the browser tests skip, saying so (they fail under CI=true).
browser:  ## install Debian's chromium (and npm) for the site's browser test, when missing and run as root
	@missing="$$(command -v chromium >/dev/null || printf ' chromium')$$(command -v npm >/dev/null || printf ' npm')"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "make browser: installing$$missing with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "make browser: not installed:$$missing (not root, so not installing); apt-get install$$missing"; \
	  fi; \
	fi

bench: $(STAMP)  ## em_helpers against scikit-learn and a scipy.stats loop: time and memory
	$(VENV)/bin/python tests/bench.py

# mutmut is a tool for this target only, not a requirement of the tutorial: installed on first use.
MUTMUT := $(VENV)/bin/mutmut
$(MUTMUT): | $(STAMP)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check mutmut==3.8.1

# ONLY='em_bayes.*' (mutant names or globs) re-checks just those mutants of the last run's mutants/,
# with the current tests: the way to confirm that new tests catch the survivors it listed. Its
# test-to-function map is rebuilt: mutmut 3.8.1's incremental update of it, after a source edit,
# dropped the tests of the edited functions' callers (_m_step kept 34 of its 190), which made
# caught mutants look like survivors.
mutation: $(MUTMUT)  ## mutation testing of the EM modules with the unit tests (hours on 2 cores): score, survivors
	$(if $(ONLY),rm -f mutants/mutmut-stats.json,rm -rf mutants)
	set -f; nice -n 15 $(MUTMUT) run --max-children 2 $(ONLY) > mutants.log 2>&1 || (tail -n 30 mutants.log; exit 1)
	$(VENV)/bin/python tests/mutation_report.py

# The ledger's names against the mutants mutmut generates now, without running a test (minutes, not hours).
ledger: $(MUTMUT)  ## each entry of tests/mutation_equivalent.txt over its mutant's diff; fails on a missing name
	$(VENV)/bin/python tests/mutation_report.py --ledger

clean:  ## remove the virtual environment and caches
	rm -rf $(VENV) build .pytest_cache .hypothesis __pycache__ tests/__pycache__ mutants mutants.log
