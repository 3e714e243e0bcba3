# Quick start (see README): `make run` and `make test`.
export KEDRO_DISABLE_TELEMETRY := true
VENV := .venv/bin

.PHONY: setup run test demo-data lint benchmarks

setup:
	bash scripts/setup.sh

demo-data: setup
	$(VENV)/python -m seqhealth.demo_data --out data/01_raw

run: demo-data
	PATH="$(CURDIR)/.venv/bin:$$PATH" $(VENV)/kedro run

test: setup
	PATH="$(CURDIR)/.venv/bin:$$PATH" $(VENV)/python -m pytest -q

lint: setup
	$(VENV)/ruff check src tests benchmarks

benchmarks: setup
	for script in benchmarks/bench_*.py; do $(VENV)/python $$script || exit 1; done
