# harbor-ha — `make test` runs every check CI runs. `make help` lists the targets.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: help test lint fmt unit demo schema
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

test: lint unit ## everything CI runs: fmt, clippy, all tests

lint: ## rustfmt check and clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit: ## Rust unit, doc, snapshot and CLI tests
	INSTA_UPDATE=no $(CARGO) test --workspace

fmt: ## format the code
	$(CARGO) fmt --all

schema: ## regenerate schema/topology.schema.json
	UPDATE_SCHEMA=1 $(CARGO) test -p harbor-ha-cli --test cli schema_file_is_current

demo: ## validate the built-in seed example
	$(CARGO) run -q -p harbor-ha-cli -- init --example seed > /tmp/harbor-ha-seed.yaml
	$(CARGO) run -q -p harbor-ha-cli -- validate /tmp/harbor-ha-seed.yaml
