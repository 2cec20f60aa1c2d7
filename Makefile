# islandbridge — the two set-up commands are `make demo` and `make test`.
PY      ?= python3
UV_VER  := 0.13.8
TOOLS   := .tools
UV      := $(TOOLS)/bin/uv
VENV    := .venv
STAMP   := $(VENV)/.synced
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test bench lint format env clean browser

$(UV):
	$(PY) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VER)"

$(STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PY)
	@touch $@

env: $(STAMP)

demo: $(STAMP)  ## the demo university end to end through Airflow
	$(VENV)/bin/islandbridge demo

test: $(STAMP)  ## the whole test suite
	$(VENV)/bin/pytest -n 2 --dist loadgroup

bench: $(STAMP)  ## benchmarks; results in bench/RESULTS.md
	$(VENV)/bin/python -m bench.run

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

browser:  ## Debian's chromium + chromium-driver for the browser tests, installed when missing
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends chromium chromium-driver; }

clean:
	rm -rf data .airflow
