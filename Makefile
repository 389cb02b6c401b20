# Two commands on a fresh machine: `make demo` and `make test` (each sets up .venv first).
# The venv is rebuilt only when pyproject.toml changes (the stamp file records the install).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXAMPLE := examples/residual.mlir

.PHONY: demo test pytest lit setup clean bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	@echo "== $(EXAMPLE), custom form: descend opt $(EXAMPLE)"
	@$(BIN)/descend opt $(EXAMPLE)
	@echo
	@echo "== the same IR in the generic form: descend opt --print-op-generic $(EXAMPLE)"
	@$(BIN)/descend opt --print-op-generic $(EXAMPLE)

test: pytest lit

pytest: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

# lit runs the RUN lines with the venv's bin first on PATH (descend, filecheck).
lit: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/lit -sv tests/lit

clean:
	rm -rf $(VENV)
