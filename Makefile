# Sovereign MoE over Kafka — everyday commands. `make help` lists them.
PY := .venv/bin/python
STAMP := .venv/.setup-done

.DEFAULT_GOAL := help
.PHONY: help setup litellm run test test-unit lint bench soak

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml deploy/local/setup.sh deploy/kafka/pom.xml deploy/local/install_llama_server.py
	@bash deploy/local/setup.sh
	@touch $(STAMP)

setup: $(STAMP) ## venv, packages, local model server, model file, Kafka broker (idempotent)

run: setup ## start the whole local stack (broker, graph DB, model server, services)
	$(PY) -m deploy.cli run

# The benchmark's LiteLLM baseline, in its own virtualenv (the reduced benchmark in the
# test suite compares against it too).
litellm: setup
	@bash bench/setup_litellm.sh

test: setup litellm ## every test: unit, integration (real broker), e2e (real model), bench
	$(PY) -m pytest

test-unit: setup ## only the fast in-memory tests
	$(PY) -m pytest tests/unit

bench: setup litellm ## benchmark vs the model direct and LiteLLM; table, results JSON, chart
	$(PY) -m bench

soak: setup ## drive the running stack for MINUTES (10); per-minute errors, latency, RSS, CPU
	$(PY) -m bench.soak --minutes $(or $(MINUTES),10)

lint: setup ## ruff and mypy (strict)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy contracts services deploy bench
