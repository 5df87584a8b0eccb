# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STORE ?= var/store

.PHONY: demo test install install-dev widgets bench clean portail-demo

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements.txt pyproject.toml
	$(BIN)/pip install --quiet -r requirements.txt -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# Widgets: third-party browser code from the npm lock file, copied next to the pages
# (MiniSearch for the Actes search, Apache ECharts and its French locale for the charts;
# axe-core stays in node_modules for the browser tests).
WIDGET_VENDOR := widgets/vendor/minisearch.js widgets/vendor/echarts.min.js widgets/vendor/echarts-fr.js
widgets/node_modules/.package-lock.json: widgets/package.json widgets/package-lock.json
	cd widgets && npm ci --no-audit --no-fund --loglevel=error
	touch $@

widgets/vendor/minisearch.js: widgets/node_modules/.package-lock.json
	mkdir -p widgets/vendor
	cp widgets/node_modules/minisearch/dist/umd/index.js $@
	cp widgets/node_modules/minisearch/LICENSE.txt widgets/vendor/minisearch.LICENSE.txt

widgets/vendor/echarts.min.js: widgets/node_modules/.package-lock.json
	mkdir -p widgets/vendor
	cp widgets/node_modules/echarts/dist/echarts.min.js $@
	cp widgets/node_modules/echarts/LICENSE widgets/vendor/echarts.LICENSE.txt

widgets/vendor/echarts-fr.js: widgets/node_modules/.package-lock.json
	mkdir -p widgets/vendor
	cp widgets/node_modules/echarts/i18n/langFR.js $@

widgets: $(WIDGET_VENDOR)

install-dev: $(VENV)/.installed-dev

demo: install widgets
	$(BIN)/digor demo --store $(STORE)

# The agents' space on the demo store, with a loopback OpenID Connect provider and sample agents
# (after `make demo`; the provider is a development requirement).
portail-demo: install-dev
	$(BIN)/digor portail --demo --store $(STORE)

test: install-dev widgets
	$(BIN)/python -m pytest

# Benchmark of the TOTEM conversion against yatotem2scdl (PyPI), on the reference files.
bench: install
	$(BIN)/pip install --quiet -r requirements-bench.txt
	$(BIN)/python benchmarks/totem_conversion.py

clean:
	rm -rf var
