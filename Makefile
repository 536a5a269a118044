# harbor-ha — `make test` runs every check CI runs. `make help` lists the targets.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: help test deps prereqs lint fmt unit demo schema render-example
.PHONY: e2e bench fuzz-smoke dist dist-check newcomer
help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

test: prereqs deps lint unit newcomer e2e test-python ansible-sanity dist-check fuzz-smoke ## everything CI runs: fmt, clippy, Rust tests, real-component e2e, Python, ansible-test sanity, the distributed artifacts, 15 s fuzzing per target

prereqs: ## check what the tests need before anything runs: root, rustup and the pinned toolchain, a C compiler, apt
	bash scripts/check-prereqs.sh

deps: ## install the real programs the tests use (apt, only when missing)
	bash scripts/install-test-deps.sh

lint: ## rustfmt check and clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p harbor-ha-core -p harbor-ha-io --all-targets --features harbor-ha-io/unchecked -- -D warnings
	$(CARGO) clippy -p harbor-ha-py --features python -- -D warnings

unit: ## Rust unit, doc, snapshot and CLI tests
	INSTA_UPDATE=no $(CARGO) test --workspace

newcomer: ## what the README promises, tried as a newcomer: make help, the prerequisites check, render-example, cargo install
	bash tests/newcomer.sh

e2e: ## real-component tests (root): nginx, registries + skopeo, PostgreSQL, Redis, keepalived, install scripts
	bash tests/e2e/run.sh

bench: ## criterion benches (quick) and whole-process figures: seed validate+render, 4,000 hosts, peak RSS
	bash scripts/bench.sh

fuzz-smoke: ## build the cargo-fuzz targets (fuzz/) and run each 15 s (FUZZ_SECONDS=N for longer)
	bash scripts/fuzz-smoke.sh

fmt: ## format the code
	$(CARGO) fmt --all

schema: ## regenerate schema/topology.schema.json and the Python TypedDicts made from it (harbor_ha/spec.py)
	UPDATE_SCHEMA=1 $(CARGO) test -p harbor-ha-cli --test cli schema_file_is_current
	python3 scripts/gen-python-spec.py

render-example: ## render the built-in seed example: out/seed.yaml and the bundle in out/seed
	bash scripts/render-example.sh

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

test-python: python-wheel ansible-collection ## Python bindings: API, errors, stubtest, byte equality with the CLI, Ansible collection
	$(VENV)/bin/python -m pytest tests/python

dist: ## build what we distribute into dist/: the crates, the static musl CLI, manylinux2014 wheels (x86_64, aarch64), the sdist
	PROFILE=release bash scripts/dist.sh

dist-check: ## build dist/ with a cheaper profile and check it: wheel tags (auditwheel), the static CLI in an empty root, the sdist
	PROFILE=dist-check bash scripts/dist.sh
	bash tests/dist/check.sh

# The Ansible collection harbor_ha.ha (module harbor_ha.ha.bundle, playbook harbor_ha.ha.deploy):
# built with ansible-galaxy from collections/ansible_collections/harbor_ha/ha into target/ansible.
ANSIBLE_COLLECTION := collections/ansible_collections/harbor_ha/ha

.PHONY: ansible-collection ansible-sanity
ansible-collection: ## build the Ansible collection harbor_ha.ha into target/ansible (ansible-galaxy collection build)
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -r harbor-ha-py/requirements-test.txt
	rm -rf target/ansible && mkdir -p target/ansible
	$(VENV)/bin/ansible-galaxy collection build --force --output-path target/ansible $(ANSIBLE_COLLECTION) >/dev/null
	@ls target/ansible/harbor_ha-ha-*.tar.gz

# ansible-test sanity on the collection installed from its tarball, each test in the virtual
# environment ansible-test makes (--venv; packages from PyPI, kept in target/ansible-test-home
# between runs). ansible-test puts pip into those with a get-pip.py from ci-files.testing.ansible.com,
# unreachable here: scripts/ansible-test-get-pip.py stands in for it (ensurepip, then PyPI).
ANSIBLE_TEST_HOME := $(CURDIR)/target/ansible-test-home
ansible-sanity: ansible-collection ## ansible-test sanity on the collection installed from its tarball
	@pip_version=$$(sed -n "s/^ *pip='\([0-9.]*\)',*$$/\1/p" $(VENV)/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py); \
	  test -n "$$pip_version" || { echo "ansible-sanity: cannot find the pip version ansible-test bootstraps" >&2; exit 1; }; \
	  mkdir -p $(ANSIBLE_TEST_HOME)/.ansible/test/cache && \
	  cp scripts/ansible-test-get-pip.py $(ANSIBLE_TEST_HOME)/.ansible/test/cache/get_pip_$${pip_version//./_}.py
	@# Installed outside the checkout: inside a git work tree, ansible-test lists only tracked files.
	@d=$$(mktemp -d /tmp/harbor-ha-ansible-sanity.XXXXXX) && trap 'rm -rf "$$d"' EXIT && \
	  $(VENV)/bin/ansible-galaxy collection install --offline -p "$$d" target/ansible/harbor_ha-ha-*.tar.gz >/dev/null && \
	  cd "$$d/ansible_collections/harbor_ha/ha" && \
	  HOME=$(ANSIBLE_TEST_HOME) $(CURDIR)/$(VENV)/bin/ansible-test sanity --venv --color no \
	    --python $$($(CURDIR)/$(VENV)/bin/python -c "import sys; print('%d.%d' % sys.version_info[:2])") 2>&1 | \
	  grep -v '^\(Collecting\|Downloading\|Installing\|Successfully\|Using cached\| \)'; exit $${PIPESTATUS[0]}
