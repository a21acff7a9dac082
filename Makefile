# Two commands do all the set-up on a fresh machine:
#   make run   — install the app's packages into .venv and serve the dashboard (demo account by default)
#   make test  — install the test packages and Debian's chromium, then run every test
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
SUDO   := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: run test test-fast load lint bench install install-dev chromium clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(PY)
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	fi

run: install
	$(PY) -m streamlit run app.py

test: install-dev chromium
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

# the fast lane: the tests that need no simulated account, moto or browser (under a minute; run it after every change)
test-fast: install-dev
	LAMBDA_LENS_FAST_LANE=1 $(PY) -m pytest -n 2 -m "not aws and not slow and not load" $(PYTEST_ARGS)

# 20 browser sessions at 1,000 simulated functions, and a 30-minute (simulated) soak; figures in artifacts/load/
load: install-dev chromium
	$(PY) -m pytest tests/load -m load -s $(PYTEST_ARGS)

lint: install-dev
	$(PY) -m ruff check .

bench: install-dev
	$(PY) bench/collect.py

clean:
	rm -rf $(VENV) .pytest_cache artifacts
