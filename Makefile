# islandbridge — the two set-up commands are `make demo` and `make test`.
PY      ?= python3
UV_VER  := 0.13.8
TOOLS   := .tools
UV      := $(TOOLS)/bin/uv
VENV    := .venv
STAMP   := $(VENV)/.synced
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test bench lint format env clean

$(UV):
	$(PY) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VER)"

# --compile-bytecode: this environment sets PYTHONDONTWRITEBYTECODE=1, so without .pyc files
# every task process recompiles its imports (Great Expectations: ~8 CPU-s instead of ~3.5).
$(STAMP): pyproject.toml uv.lock Makefile | $(UV)
	$(UV) sync --frozen --compile-bytecode --python $(PY)
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

clean:
	rm -rf data .airflow
