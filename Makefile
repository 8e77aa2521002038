# inplay: `make help` lists the targets. Everything runs inside .venv (created when missing).
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help env demo demo-small dashboard test test-fast test-apache reliability lint format reports \
        broker-start broker-stop broker-status monitor kafka-up kafka-down kafka-jvm-start \
        kafka-jvm-stop kafka-jvm-status data-download clean

help: ## Show this help
	@echo "inplay: live football win probabilities on Kafka (Data: StatsBomb Open Data)"
	@echo
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'
	@echo
	@echo "Settings: INPLAY_DATA_DIR=<StatsBomb open-data folder> (else data/raw/statsbomb, downloaded"
	@echo "if empty); KAFKA_BOOTSTRAP_SERVERS=host:port to use your own Kafka instead of the embedded one."

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11+"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

env: $(STAMP) ## Create the environment (.venv with inplay and its tools) if missing; in a git clone, install the pre-commit hook
	@pc=$$(command -v $(BIN)/pre-commit || command -v pre-commit || true); \
	if [ -n "$$pc" ] && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		"$$pc" install >/dev/null 2>&1 && echo "pre-commit hook installed (.pre-commit-config.yaml)" \
			|| echo "note: pre-commit hook not installed (git hooks not writable?); run $$pc install by hand"; \
	fi; true

demo: $(STAMP) ## Whole pipeline on the embedded broker: replay, features, models, live scoring, reports/*.html
	@start=$$(date +%s); status=0; \
	echo "make demo: StatsBomb data from $$($(BIN)/inplay data where)"; \
	if [ -z "$$KAFKA_BOOTSTRAP_SERVERS" ]; then $(BIN)/inplay broker start || exit $$?; fi; \
	$(BIN)/inplay reports $(DEMO_ARGS) || status=$$?; \
	if [ -z "$$KAFKA_BOOTSTRAP_SERVERS" ]; then $(BIN)/inplay broker stop; fi; \
	echo "make demo: total time $$(( $$(date +%s) - start )) s; open reports/index.html"; \
	exit $$status

demo-small: ## The demo with small parameters (two matches replayed, World Cups only): a few minutes
	@$(MAKE) --no-print-directory demo DEMO_ARGS=--small

dashboard: $(STAMP) ## Live dashboard: replay the demo matches at 30x, score them, watch http://localhost:8501
	$(BIN)/python -m inplay.dashboard.run --speed $(or $(SPEED),30) --port $(or $(PORT),8501)

monitor: $(STAMP) ## Live table of the scoring workers (throughput, latency, lag, quarantined)
	$(BIN)/inplay monitor

test: $(STAMP) ## Run the whole test suite (starts its own embedded broker, or uses KAFKA_BOOTSTRAP_SERVERS)
	$(BIN)/pytest $(PYTEST_ARGS)

reliability: $(STAMP) ## Fault injection, fuzz and SASL tests (own Apache Kafka on the JVM), then docs/RELIABILITY.md
	$(BIN)/python -m inplay.brokers.apache jars
	$(BIN)/pytest tests/scenarios
	$(BIN)/python -m inplay.reporting.reliability --out docs/RELIABILITY.md

test-fast: $(STAMP) ## Only the tests that need neither Kafka, real data nor notebooks
	$(BIN)/pytest -m "not kafka and not shared_data and not notebooks"

test-apache: $(STAMP) ## The whole suite against a fresh Apache Kafka on the JVM (started and stopped here)
	@export INPLAY_APACHE_KAFKA_STATE=data/apache-kafka-test.json; \
	$(BIN)/python -m inplay.brokers.apache start || exit $$?; status=0; \
	KAFKA_BOOTSTRAP_SERVERS=$$($(BIN)/python -m inplay.brokers.apache bootstrap) $(BIN)/pytest || status=$$?; \
	$(BIN)/python -m inplay.brokers.apache stop; exit $$status

lint: $(STAMP) ## ruff on src, tests, benchmarks and notebooks; check notebooks carry no outputs
	$(BIN)/ruff check src tests benchmarks notebooks scripts orchestration
	$(BIN)/python scripts/code_sizes.py
	$(BIN)/nbstripout --verify --keep-id notebooks/*.ipynb

format: $(STAMP) ## Format code and strip notebook outputs
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/nbstripout --keep-id notebooks/*.ipynb

reports: $(STAMP) ## Execute the notebooks and render reports/*.html (needs a running broker)
	$(BIN)/inplay reports

broker-start: $(STAMP) ## Start the embedded Kafka-compatible broker (state in data/broker.json)
	$(BIN)/inplay broker start

broker-stop: $(STAMP) ## Stop the embedded broker
	$(BIN)/inplay broker stop

broker-status: $(STAMP) ## Is the embedded broker running, and where?
	$(BIN)/inplay broker status

kafka-up: ## Apache Kafka + Kafka UI with docker compose (then export KAFKA_BOOTSTRAP_SERVERS=localhost:9092)
	docker compose up -d kafka ui

kafka-down: ## Stop the docker compose services
	docker compose down

kafka-jvm-start: $(STAMP) ## Apache Kafka 4.x on the JVM, no Docker (Java 17+, Maven); then export KAFKA_BOOTSTRAP_SERVERS
	$(BIN)/python -m inplay.brokers.apache start
	@echo "export KAFKA_BOOTSTRAP_SERVERS=$$($(BIN)/python -m inplay.brokers.apache bootstrap)"

kafka-jvm-stop: $(STAMP) ## Stop the JVM Apache Kafka
	$(BIN)/python -m inplay.brokers.apache stop

kafka-jvm-status: $(STAMP) ## Is the JVM Apache Kafka running, and where?
	$(BIN)/python -m inplay.brokers.apache status

data-download: $(STAMP) ## Download StatsBomb open data (FIFA World Cup 2022) into data/raw/statsbomb
	$(BIN)/inplay data download

clean: ## Remove derived data, models and reports (keeps data/raw and .venv)
	rm -rf data/interim data/processed reports/executed reports/*.html reports/*.json
	find models -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
