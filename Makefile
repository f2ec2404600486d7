# Parley — the two commands of the README are `make run` and `make test`.
# Everything else is installed here: uv (from PyPI, into .tools/), then the locked workspace (.venv/).

PYTHON ?= python3
TOOLS  := .tools
UV     := $(TOOLS)/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv

PROJECT_FILES := uv.lock pyproject.toml $(wildcard libs/*/pyproject.toml services/*/pyproject.toml)

.PHONY: install browser run test test-unit test-integration test-e2e test-data test-deploy lint bench replay asyncapi clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv>=0.5,<1"

.venv/.synced: $(UV) $(PROJECT_FILES)
	$(UV) sync --frozen --all-packages
	@touch $@

install: .venv/.synced ## create the environment and install the locked workspace

browser: ## Chromium for the browser tests: Debian's `chromium`, installed when missing (as root)
	@sh tests/e2e/browser/install-chromium.sh

run: install ## start NATS, PostgreSQL (embedded unless NATS_URL/DATABASE_URL name others), the four services; gateway on 127.0.0.1:8000
	$(UV) run --frozen --no-sync parley run

test: install browser ## lint, architecture contracts, then the whole suite against real NATS JetStream and PostgreSQL
	$(UV) run --frozen --no-sync ruff check .
	$(UV) run --frozen --no-sync lint-imports
	$(UV) run --frozen --no-sync pytest

test-unit: install ## the unit tests alone: no servers, seconds
	$(UV) run --frozen --no-sync pytest tests/unit

test-integration: install ## one service or the chassis against real NATS and PostgreSQL
	$(UV) run --frozen --no-sync pytest tests/integration

test-e2e: install browser ## the whole stack through the HTTP API
	$(UV) run --frozen --no-sync pytest tests/e2e

test-data: install ## the namer on the real conversations of ../shared/data, held to its bars
	$(UV) run --frozen --no-sync pytest tests/data

test-deploy: install ## the deploy files linted, validated and compared with the code (offline)
	$(UV) run --frozen --no-sync pytest tests/deploy

lint: install
	$(UV) run --frozen --no-sync ruff check .
	$(UV) run --frozen --no-sync lint-imports

asyncapi: install ## regenerate docs/asyncapi.yaml (the event contract) from libs/contracts
	$(UV) run --frozen --no-sync parley asyncapi --output docs/asyncapi.yaml

replay: install ## drive a running gateway with real conversations: make replay LIMIT=50 [BASE_URL=http://127.0.0.1:8000]
	$(UV) run --frozen --no-sync parley replay ../shared/data/sharegpt_conversations.jsonl --limit $(or $(LIMIT),50) --base-url $(or $(BASE_URL),http://127.0.0.1:8000)

bench: install ## pipeline benchmark on embedded servers: reply latency, throughput, time to name and tag; chat overhead per provider
	$(UV) run --frozen --no-sync parley bench
	$(UV) run --frozen --no-sync parley overhead

clean:
	rm -rf .venv .tools .parley .pytest_cache
