# islandbridge — the two set-up commands are `make demo` and `make test`.
PY      ?= python3
UV_VER  := 0.13.8
TOOLS   := .tools
UV      := $(TOOLS)/bin/uv
VENV    := .venv
STAMP   := $(VENV)/.synced
NODE    := node_modules/.installed
CHROMIUM := /usr/bin/chromium
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test bench lint format env clean browser airflow screenshots

$(UV):
	$(PY) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VER)"

# --compile-bytecode: this environment sets PYTHONDONTWRITEBYTECODE=1, so without .pyc files
# every task process recompiles its imports (Great Expectations: ~8 CPU-s instead of ~3.5).
$(STAMP): pyproject.toml uv.lock Makefile | $(UV)
	$(UV) sync --frozen --compile-bytecode --python $(PY)
	@touch $@

# the scripts bundled into the report and the offline Data Docs (package-lock.json)
$(NODE): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

# Debian's chromium and its driver (the page tests and `make screenshots`)
$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "install Debian's chromium and chromium-driver" >&2; exit 1; }
	$$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq chromium chromium-driver fonts-noto-cjk

browser: $(CHROMIUM)  ## Debian's chromium + chromium-driver, installed when missing

env: $(STAMP) $(NODE)

demo: $(STAMP) $(NODE)  ## the demo university end to end through Airflow
	$(VENV)/bin/islandbridge demo

airflow: $(STAMP) $(NODE)  ## the real Airflow UI on the demo university (Ctrl-C stops it)
	$(VENV)/bin/islandbridge airflow

screenshots: $(STAMP) $(NODE) $(CHROMIUM)  ## docs/img/*.png from a real run, in headless Chromium
	ISLANDBRIDGE_SCREENSHOTS_DIR=$(CURDIR)/docs/img $(VENV)/bin/pytest -q -n 0 tests/e2e/test_make_airflow.py

test: $(STAMP) $(NODE) $(CHROMIUM)  ## the whole test suite
	$(VENV)/bin/pytest -n 2 --dist loadgroup

bench: $(STAMP)  ## benchmarks; results in bench/RESULTS.md
	$(VENV)/bin/python -m bench.run

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf data .airflow node_modules
