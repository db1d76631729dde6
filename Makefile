# opsbook: the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV       := .venv
PY         := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(HOME)/.cache/opsbook/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export OPSBOOK_SANDBOX_STATE ?= $(CURDIR)/.sandbox
export DOCKER_HOST ?= unix://$(OPSBOOK_SANDBOX_STATE)/run/docker.sock
PLAYBOOKS  := $(filter-out playbooks/_%,$(wildcard playbooks/*.yml))
PYTEST     := $(VENV)/bin/pytest
# The job `make demo` runs against the sandbox.
DEMO_PLAYBOOK ?= playbooks/health_check.yml
# K8S=1 (or OPSBOOK_SANDBOX_KUBERNETES=1) adds the Kubernetes control plane to install and
# sandbox-up: built from source on first use (several minutes, cached), see docs/kubernetes.md.
ifeq ($(K8S),1)
export OPSBOOK_SANDBOX_KUBERNETES := 1
endif
# FLEET=1 (or OPSBOOK_SANDBOX_FLEET=1) adds the fleet of plain Debian hosts reached over SSH
# (sandbox/components/fleet.sh, inventories/fleet; docs/sandbox.md).
ifeq ($(FLEET),1)
export OPSBOOK_SANDBOX_FLEET := 1
endif

.PHONY: help venv install sandbox-up sandbox-down sandbox-status sandbox-clean demo \
        lint syntax collection-install sanity units unit integration molecule test clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt python/pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e python/
	touch $@

# The checkout is the collection opsbook.runbooks (galaxy.yml); ansible.cfg's collections_path
# finds it through this link.
COLLECTION_LINK := .collections/ansible_collections/opsbook/runbooks
$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../.. $@

venv: $(VENV)/.installed $(COLLECTION_LINK) ## Create .venv with the pinned Python dependencies; link the collection

install: venv ## Install everything: venv, Debian packages, Go builds, base image
	sandbox/install.sh

sandbox-up: install ## Bring the sandbox platform up (idempotent)
	sandbox/up.sh

sandbox-down: ## Stop everything the sandbox started
	sandbox/down.sh

sandbox-status: ## One line per sandbox component
	sandbox/status.sh

sandbox-clean: sandbox-down ## Stop the sandbox and delete its state (.sandbox/)
	rm -rf "$(OPSBOOK_SANDBOX_STATE)"

# The demo shows the platform as it runs day to day: the first backups are taken and verified
# (once a day: a backup of the last 24 hours is kept as it is), then the main job runs.
demo: sandbox-up ## Set everything up, back up and verify, and run the main job against the sandbox
	ansible-playbook playbooks/backup.yml playbooks/backup_verify.yml -e '{"mongodb_backup_skip_if_newer_than_minutes": 1440, "postgres_backup_skip_if_newer_than_minutes": 1440, "files_backup_skip_if_newer_than_minutes": 1440}'
	ansible-playbook $(DEMO_PLAYBOOK)

lint: venv ## ansible-lint (production profile), ruff, mypy --strict of the opsbook package
	ansible-lint
	ruff check .
	ruff format --check .
	mypy --config-file python/pyproject.toml python/opsbook

syntax: venv ## ansible-playbook --syntax-check on every playbook
	@for p in $(PLAYBOOKS); do ansible-playbook --syntax-check "$$p" >/dev/null || exit 1; echo "syntax ok: $$p"; done

# ansible-test runs in an installed copy of the collection outside this checkout: it needs a
# working directory .../ansible_collections/opsbook/runbooks, resolves links (so .collections leads
# it back to the checkout's root), and inside the checkout it lists files through the enclosing git
# repository and skips them all. Building and installing the artifact each time also proves that
# it builds and installs. See docs/collection.md.
ANSIBLE_TEST_PYTHON := 3.11
ANSIBLE_TEST_ROOT   := $${TMPDIR:-/tmp}/opsbook-ansible-test-$(shell printf %s '$(CURDIR)' | sha256sum | cut -c1-12)
ANSIBLE_TEST_DIR    := $(ANSIBLE_TEST_ROOT)/ansible_collections/opsbook/runbooks
ANSIBLE_TEST        := cd "$(ANSIBLE_TEST_DIR)" && $(CURDIR)/$(VENV)/bin/ansible-test
# The pip version whose bootstrap script ansible-test fetches for its --venv environments (from
# ci-files.testing.ansible.com, out of this machine's reach); tests/sanity/get_pip.py stands in.
ANSIBLE_TEST_PIP     = $(shell $(PY) -c 'import types; from ansible_test._internal.python_requirements import get_venv_packages; print(get_venv_packages(types.SimpleNamespace(version="$(ANSIBLE_TEST_PYTHON)"))["pip"].replace(".", "_"))')

collection-install: venv ## Build the collection into dist/ and install it outside the checkout for ansible-test
	rm -f dist/opsbook-runbooks-*.tar.gz
	ansible-galaxy collection build --output-path dist/ .
	@# ansible-test keeps the environment it runs in (and, for units, the tests' requirements) in
	@# tests/output/.tmp/delegation of the installed copy; it is carried over the reinstall, so that
	@# a second run installs nothing.
	rm -rf "$(ANSIBLE_TEST_ROOT)/delegation"
	if [ -d "$(ANSIBLE_TEST_DIR)/tests/output/.tmp/delegation" ]; then \
	  mv "$(ANSIBLE_TEST_DIR)/tests/output/.tmp/delegation" "$(ANSIBLE_TEST_ROOT)/delegation"; fi
	ANSIBLE_GALAXY_COLLECTIONS_PATH_WARNING=false \
	  ansible-galaxy collection install --force --no-deps -p "$(ANSIBLE_TEST_ROOT)" dist/opsbook-runbooks-*.tar.gz
	if [ -d "$(ANSIBLE_TEST_ROOT)/delegation" ]; then mkdir -p "$(ANSIBLE_TEST_DIR)/tests/output/.tmp" && \
	  mv "$(ANSIBLE_TEST_ROOT)/delegation" "$(ANSIBLE_TEST_DIR)/tests/output/.tmp/delegation"; fi
	pip_version="$(ANSIBLE_TEST_PIP)" && test -n "$$pip_version" && \
	  install -D -m 0644 tests/sanity/get_pip.py "$(HOME)/.ansible/test/cache/get_pip_$$pip_version.py"

sanity: collection-install ## ansible-test sanity on the installed collection
	$(ANSIBLE_TEST) sanity --venv --python $(ANSIBLE_TEST_PYTHON)

units: collection-install ## ansible-test units (tests/unit) on the installed collection
	$(ANSIBLE_TEST) units --venv --python $(ANSIBLE_TEST_PYTHON)

unit: venv ## Project tests without services (tests/project, tests/python)
	$(PYTEST) tests/project tests/python

# With the fleet up (FLEET=1), its tests (-m fleet: the runbooks over SSH on their own hosts)
# run beside the loopback sandbox's: they share no service, and the machine's two cores are
# better used than one suite after the other. The fleet's output is printed when both are done.
FLEET_TEST_LOG := $(OPSBOOK_SANDBOX_STATE)/log/integration-fleet.log
integration: sandbox-up ## Integration tests against the sandbox (and, with FLEET=1, the fleet beside them)
	@if [ "$${OPSBOOK_SANDBOX_FLEET:-0}" = 1 ]; then \
	  $(PYTEST) tests/integration -m fleet >"$(FLEET_TEST_LOG)" 2>&1 & fleet=$$!; \
	  $(PYTEST) tests/integration -m "not fleet"; rc=$$?; \
	  wait $$fleet; fleet_rc=$$?; \
	  echo "=== the fleet's integration tests ($(FLEET_TEST_LOG))"; cat "$(FLEET_TEST_LOG)"; \
	  [ $$rc -eq 0 ] && [ $$fleet_rc -eq 0 ]; \
	else \
	  $(PYTEST) tests/integration -m "not fleet"; \
	fi

molecule: sandbox-up ## Molecule scenarios (docker driver, local base image)
	@for s in molecule/*/; do molecule test -s "$$(basename "$$s")" || exit 1; done

test: lint syntax sanity units unit integration molecule ## Everything CI runs

clean: ## Remove caches, dist/ and the collection installed for ansible-test (not the sandbox)
	rm -rf .cache .pytest_cache .ruff_cache .mypy_cache dist "$(ANSIBLE_TEST_ROOT)"
