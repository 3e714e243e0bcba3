# Quick start (see README): `make run` and `make test`.
# Telemetry: Kedro's is off by the committed .telemetry file (consent: false), for make and bare
# kedro alike; MLflow's by seqhealth itself (src/seqhealth/no_telemetry.py) and, for the mlflow
# servers started here (which import no seqhealth before serving), by this default.
export MLFLOW_DISABLE_TELEMETRY ?= true
VENV := .venv/bin

# Everyday commands (README): nothing to activate; .venv/bin goes first on PATH for every tool
# (mlflow models serve starts `uvicorn`, training may start `torchrun`).
WITH_VENV := PATH="$(CURDIR)/.venv/bin:$$PATH"
# Off a terminal (a log file, CI, cron) Kedro's rich log handler lays records out on an 80-column
# console, wrapping every message into fragments; a wide console keeps one record per line.
KEDRO := [ -t 1 ] || export COLUMNS=$${COLUMNS:-200}; $(WITH_VENV) $(VENV)/kedro
# Servers run in a process group of their own: Ctrl-C or SIGTERM stops every process they started
# (`exec`: the recipe's shell becomes the wrapper, so make's SIGTERM reaches it).
GROUP := $(VENV)/python scripts/run_in_group.py
IN_GROUP := exec env $(WITH_VENV) $(GROUP)
TRACKING_URI := $${MLFLOW_TRACKING_URI:-sqlite:///$(CURDIR)/mlflow.db}
TASK ?= vitals_mortality
DATA ?= data/01_raw/$(TASK)
TRIALS ?= 20
WORKERS ?= 1
HOST ?= 127.0.0.1
MLFLOW_PORT ?= 5000
SERVE_PORT ?= 5001
VIZ_PORT ?= 4141
NOTEBOOK_PORT ?= 8888
PARAMS ?=
comma := ,
MORE_PARAMS = $(if $(PARAMS),$(comma)$(PARAMS))

.PHONY: setup run test demo-data lint benchmarks help mlflow-ui serve predict tune retrain airflow-dag viz notebook

help:
	@echo "make run | make test                     quick start: default run on demo data | test suite"
	@echo "make mlflow-ui                           MLflow UI on http://$(HOST):$(MLFLOW_PORT) (runs, plots, registry)"
	@echo "make serve TASK=$(TASK)        REST endpoint of the champion on http://$(HOST):$(SERVE_PORT)/invocations"
	@echo "make predict TASK=... DATA=PATH          batch predictions -> data/07_model_output/<task>/"
	@echo "make tune TASK=... TRIALS=20 WORKERS=2   Optuna study (needs the task's model input: make run)"
	@echo "make retrain TASK=...                    retrain, gate, promote (data/01_raw/<task>/<date>/...)"
	@echo "make airflow-dag                         regenerate airflow_dags/seqhealth_retrain_dag.py"
	@echo "make viz                                 Kedro-Viz on http://$(HOST):$(VIZ_PORT)"
	@echo "make notebook                            JupyterLab on notebooks/ (http://$(HOST):$(NOTEBOOK_PORT))"
	@echo "  predict, tune, retrain: PARAMS=\"key=value,...\" adds runtime parameters"
	@echo "make lint | make benchmarks"

setup:
	bash scripts/setup.sh

demo-data: setup
	$(VENV)/python -m seqhealth.demo_data --out data/01_raw

run: demo-data
	$(KEDRO) run

# --durations: the slowest tests at the end of every run, to keep CI under its 25 minutes
test: setup
	bash scripts/setup_test_browser.sh
	$(WITH_VENV) $(VENV)/python -m pytest -q --durations=25

mlflow-ui: setup
	$(IN_GROUP) mlflow ui --backend-store-uri "$(TRACKING_URI)" --host $(HOST) --port $(MLFLOW_PORT)

serve: setup
	exec env MLFLOW_TRACKING_URI="$(TRACKING_URI)" $(WITH_VENV) $(GROUP) mlflow models serve \
	  -m "models:/seqhealth-$(TASK)@champion" --env-manager local -h $(HOST) -p $(SERVE_PORT)

predict: setup
	$(KEDRO) run --pipelines predict --params "predict.task=$(TASK),predict.path=$(DATA)$(MORE_PARAMS)"

tune: setup
	$(KEDRO) run --pipelines tune --params "tune.task=$(TASK),tune.n_trials=$(TRIALS),tune.n_workers=$(WORKERS)$(MORE_PARAMS)"

retrain: setup
	$(KEDRO) run --pipelines retrain --params "retrain.task=$(TASK)$(MORE_PARAMS)"

airflow-dag: setup
	$(KEDRO) airflow create --pipelines retrain --group-by memory \
	  --jinja-file airflow_dags/templates/retrain_dag.j2

viz: setup
	$(IN_GROUP) kedro viz run --host $(HOST) --port $(VIZ_PORT) --no-browser

notebook: setup
	$(IN_GROUP) jupyter lab --no-browser --ip $(HOST) --port $(NOTEBOOK_PORT) --notebook-dir notebooks \
	  --LabApp.extension_manager=readonly $(if $(filter 0,$(shell id -u)),--allow-root)

lint: setup
	$(VENV)/ruff check src tests benchmarks

benchmarks: setup
	for script in benchmarks/bench_*.py; do $(VENV)/python $$script || exit 1; done
