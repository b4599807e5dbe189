# kenshu: `make demo` runs the bundled example course end to end,
# `make test` runs the whole test suite. Both create .venv on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.kenshu-installed
SYSTEM_STAMP := $(VENV)/.kenshu-system-packages

.PHONY: demo test install system-packages benchmarks clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing kenshu and its dependencies into $(VENV) (a few minutes the first time) ..."
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

# Debian packages the tests start for real: the Mosquitto broker.
system-packages: $(SYSTEM_STAMP)

$(SYSTEM_STAMP): $(STAMP)
	bash .ci/system-packages
	touch $(SYSTEM_STAMP)

demo: $(STAMP)
	$(BIN)/kenshu demo

test: $(STAMP) $(SYSTEM_STAMP)
	$(BIN)/python -m pytest

benchmarks: $(STAMP) $(SYSTEM_STAMP)
	for script in benchmarks/bench_*.py; do $(BIN)/python "$$script" || exit 1; done

# Removes what the demo and the builds generated; the office's attendance store is kept.
clean:
	rm -rf courses/*/_build kpi_reports/_build/demo kpi_reports/_build/reports benchmarks/out
