# The commands of the README: `make demo`, `make test`, and `make airflow` (the scheduler and its UI).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STORE ?= var/store

.PHONY: demo test airflow airflow-down install install-dev native widgets bench clean portail-demo

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements.txt pyproject.toml
	$(BIN)/pip install --quiet -r requirements.txt -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# The TOTEM reader's C walk (transform/_totem_walk.c), built in place against the installed lxml;
# where it cannot be built (no C compiler), it says so and TOTEM lines are read in Python.
native: $(VENV)/.installed
	$(BIN)/python -m transform.build_native

install: $(VENV)/.installed native

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

install-dev: $(VENV)/.installed-dev native

demo: install widgets
	$(BIN)/digor demo --store $(STORE)

# The agents' space on the demo store, with a loopback OpenID Connect provider and sample agents
# (after `make demo`; the provider is a development requirement).
portail-demo: install-dev
	$(BIN)/digor portail --demo --store $(STORE)

# The real Airflow services (scheduler, dag-processor, triggerer, API server + UI) on embedded
# defaults, in the background; prints the UI's URL and login. `make airflow-down` stops them.
airflow: install widgets
	$(BIN)/digor airflow up --store $(STORE)

airflow-down: install
	$(BIN)/digor airflow down

test: install-dev widgets
	$(BIN)/python -m pytest

# Benchmarks (they print, never assert): TOTEM conversion against yatotem2scdl and the parse floor,
# SCDL validation against validata-table (in its own virtual environment), DECP conversion at
# 15,000 and 150,000 objects (DECP_SIZES) and, with DECP_NATIONAL=1, the national consolidation of
# 1.5 million objects (a 1.6 GB file generated once into var/bench/decp; about an hour), the actes
# night on the sample region at three history sizes (regions generated once into var/bench, about
# 10 GB at 300,000 acts; ACTES_HISTORIES=10000,100000,300000) and its requests on S3 (SeaweedFS);
# the whole region's night through Airflow (sirene, actes, budgets, decp in turn, per task) on the
# 10,000-act region;
# the widgets in chromium under emulated 4G: Actes on a generated body of WIDGET_ACTS acts, Focus
# marchés and Budgets on the largest bodies of a sample region (generated once into var/bench/widgets).
VALIDATA_VENV ?= var/bench/validata
DECP_SIZES ?= 15000,150000
DECP_NATIONAL ?=
ACTES_HISTORIES ?= 10000,100000,300000
WIDGET_ACTS ?= 20000
$(VALIDATA_VENV)/bin/python:
	$(PYTHON) -m venv $(VALIDATA_VENV)
	$(VALIDATA_VENV)/bin/pip install --quiet validata-table

bench: install $(VALIDATA_VENV)/bin/python
	$(BIN)/pip install --quiet -r requirements-bench.txt
	$(BIN)/python benchmarks/totem_conversion.py
	$(BIN)/python benchmarks/scdl_validation.py --validata $(VALIDATA_VENV)/bin/python
	$(BIN)/python benchmarks/decp_conversion.py --sizes $(DECP_SIZES) --work var/bench/decp $(if $(DECP_NATIONAL),--national)
	$(BIN)/python benchmarks/actes_night.py --sizes $(ACTES_HISTORIES) --work var/bench/actes --s3
	$(BIN)/python benchmarks/region_night.py --history 10000 --work var/bench/actes
	$(BIN)/python benchmarks/document_text.py
	$(BIN)/python benchmarks/pastell_listings.py --bodies 400 --changed 25
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/python benchmarks/actes_widget.py --acts $(WIDGET_ACTS) --no-demo
	$(BIN)/python benchmarks/widgets_weight.py --work var/bench/widgets
	$(BIN)/python benchmarks/verdicts.py

clean:
	rm -rf var
