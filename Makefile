# harbor-ha — `make test` runs every check CI runs. `make help` lists the targets.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: help test deps lint fmt unit demo schema render-example
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

test: deps lint unit ## everything CI runs: fmt, clippy, all tests

deps: ## install the real programs the tests use (apt, only when missing)
	bash scripts/install-test-deps.sh

lint: ## rustfmt check and clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit: ## Rust unit, doc, snapshot and CLI tests
	INSTA_UPDATE=no $(CARGO) test --workspace

fmt: ## format the code
	$(CARGO) fmt --all

schema: ## regenerate schema/topology.schema.json
	UPDATE_SCHEMA=1 $(CARGO) test -p harbor-ha-cli --test cli schema_file_is_current

render-example: ## render the built-in seed example into ./out/seed
	$(CARGO) run -q -p harbor-ha-cli -- init --example seed > /tmp/harbor-ha-seed.yaml
	HARBOR_ADMIN_PASSWORD=$${HARBOR_ADMIN_PASSWORD:-Change-Me-1} HARBOR_DB_PASSWORD=$${HARBOR_DB_PASSWORD:-change-me-db} \
	HARBOR_REDIS_PASSWORD=$${HARBOR_REDIS_PASSWORD:-change-me-redis} \
	$(CARGO) run -q -p harbor-ha-cli -- render /tmp/harbor-ha-seed.yaml --out out/seed
