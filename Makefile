# pingcli: `make demo` signs you in to a bundled local OpenID Provider; `make test` runs every test tier.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
GRANT ?=
OP_MODULES := tests/op/node_modules/.package-lock.json

.PHONY: test demo unit integration e2e benchmark man system-deps clean

$(BIN)/pingcli: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

$(OP_MODULES): tests/op/package-lock.json
	@command -v npm >/dev/null || { echo "make: npm is missing (Debian: apt-get install nodejs npm)"; exit 1; }
	cd tests/op && npm ci --no-audit --no-fund --loglevel=error

system-deps:
	@bash .ci/system-deps.sh

demo: $(BIN)/pingcli $(OP_MODULES)
	$(BIN)/python tests/op/demo.py $(if $(GRANT),--grant $(GRANT))

test: system-deps $(BIN)/pingcli $(OP_MODULES)
	$(BIN)/pytest -p no:cacheprovider tests

unit: $(BIN)/pingcli
	$(BIN)/pytest -p no:cacheprovider tests/unit

integration: system-deps $(BIN)/pingcli $(OP_MODULES)
	$(BIN)/pytest -p no:cacheprovider tests/integration

e2e: system-deps $(BIN)/pingcli $(OP_MODULES)
	$(BIN)/pytest -p no:cacheprovider tests/e2e

benchmark: $(BIN)/pingcli $(OP_MODULES)
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

man: $(BIN)/pingcli
	$(BIN)/argparse-manpage --module pingcli.entrypoints.cli_args --function build_parser --prog pingcli \
		--project-name pingcli --output pingcli.1

clean:
	rm -rf $(VENV) build *.egg-info tests/op/node_modules .hypothesis
