# harbor-ha — `make test` runs every check CI runs. `make help` lists the targets.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: help test deps lint fmt unit demo schema render-example
.PHONY: e2e bench fuzz-smoke
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

test: deps lint unit e2e test-python fuzz-smoke ## everything CI runs: fmt, clippy, Rust tests, real-component e2e, Python, 15 s fuzzing per target

deps: ## install the real programs the tests use (apt, only when missing)
	bash scripts/install-test-deps.sh

lint: ## rustfmt check and clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p harbor-ha-core -p harbor-ha-io --all-targets --features harbor-ha-io/unchecked -- -D warnings

unit: ## Rust unit, doc, snapshot and CLI tests
	INSTA_UPDATE=no $(CARGO) test --workspace

e2e: ## real-component tests (root): nginx, registries + skopeo, PostgreSQL, Redis, keepalived, install scripts
	bash tests/e2e/run.sh

bench: ## criterion benches (quick) and whole-process figures: seed validate+render, 4,000 hosts, peak RSS
	bash scripts/bench.sh

fuzz-smoke: ## build the cargo-fuzz targets (fuzz/) and run each 15 s (FUZZ_SECONDS=N for longer)
	bash scripts/fuzz-smoke.sh

fmt: ## format the code
	$(CARGO) fmt --all

schema: ## regenerate schema/topology.schema.json
	UPDATE_SCHEMA=1 $(CARGO) test -p harbor-ha-cli --test cli schema_file_is_current

render-example: ## render the built-in seed example into ./out/seed
	$(CARGO) run -q -p harbor-ha-cli -- init --example seed > /tmp/harbor-ha-seed.yaml
	HARBOR_ADMIN_PASSWORD=$${HARBOR_ADMIN_PASSWORD:-Change-Me-1} HARBOR_DB_PASSWORD=$${HARBOR_DB_PASSWORD:-change-me-db} \
	HARBOR_REDIS_PASSWORD=$${HARBOR_REDIS_PASSWORD:-change-me-redis} \
	$(CARGO) run -q -p harbor-ha-cli -- render /tmp/harbor-ha-seed.yaml --out out/seed

# Python bindings (harbor-ha-py): a local .venv (gitignored) with the test tools, the abi3
# wheel built by maturin into target/wheels (reusing the cargo target dir), then pytest.
PYTHON ?= python3
VENV ?= .venv

.PHONY: test-python python-wheel
python-wheel: ## build the harbor_ha wheel into target/wheels and install it into .venv
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -r harbor-ha-py/requirements-test.txt
	rm -f target/wheels/harbor_ha-*.whl
	$(VENV)/bin/maturin build --release -q -m harbor-ha-py/Cargo.toml -o target/wheels
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps target/wheels/harbor_ha-*.whl

test-python: python-wheel ## Python bindings: API, errors, stubtest, byte equality with the CLI, Ansible module
	$(VENV)/bin/python -m pytest tests/python
