# Two commands on a fresh machine: `make demo` and `make test` (each sets up .venv first).
# The venv is rebuilt only when pyproject.toml changes (the stamp file records the install).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MODEL := examples/small_cnn.onnx

.PHONY: demo test pytest lit setup clean bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	@echo "== $(MODEL): import and optimise (descend compile --emit graph)"
	@$(BIN)/descend compile $(MODEL) --emit graph --elide-constants-larger-than 4
	@echo
	@echo "== compile to native code, run, check against onnxruntime, time both:"
	@echo "   descend run $(MODEL) --check --repeat 50 --number 20"
	@$(BIN)/descend run $(MODEL) --check --repeat 50 --number 20

test: pytest lit

pytest: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

# lit runs the RUN lines with the venv's bin first on PATH (descend, filecheck).
lit: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/lit -sv tests/lit

clean:
	rm -rf $(VENV)
