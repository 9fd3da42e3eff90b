# Two commands for a new user: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

PORT ?= 8080

.PHONY: run test test-at bench install clean mutate

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/ringledger serve --demo --port $(PORT)

# Four workers (most tests wait on servers, not on the CPU), a test file each at a time (the tours share
# one server per file); then the fault suite alone, because it measures hook latency.
TEST_RUN = $(BIN)/python -m pytest -q -n 4 --dist loadfile -m "not fault" && $(BIN)/python -m pytest -q -m fault

test: $(STAMP)
	$(TEST_RUN)

# The whole suite at another hour: every Python process it starts (servers too)
# sees its wall clock moved to AT and ticking on (tests/clock_shift).
AT ?= 2026-12-06T02:00:00+08:00
test-at: $(STAMP)
	RINGLEDGER_TEST_AT=$(AT) PYTHONPATH=$(CURDIR)/tests/clock_shift sh -c '$(TEST_RUN)'

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/ledger.py
	$(BIN)/python bench/charging.py
	$(BIN)/python bench/rating.py
	$(BIN)/python bench/portal.py
	$(BIN)/python bench/hooks_under_graphql.py

# Mutation testing (mutmut, configured in pyproject.toml). By default only the
# functions that hold money rules; `make mutate MUTANTS=` mutates all of ledger/,
# rating/ and the charging service (several hours on two cores).
MUTANTS ?= ledger.accounts.* ledger.vouchers.* ledger.operations.* ledger.money.* rating.rate.* \
	ledger.application.xǁLedgerǁexecute* ledger.application.xǁLedgerǁ_group* \
	ledger.application.xǁLedgerǁredeem_voucher* \
	services.charging.calls.xǁChargingǁ_decide* services.charging.calls.xǁChargingǁend_command* \
	services.charging.calls.xǁChargingǁinterim_command* \
	services.charging.calls.xǁChargingǁexpire_command* \
	services.charging.rerating.xǁReratingǁrerate_command*

mutate: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,mutate]'
	nice -n 10 $(BIN)/mutmut run --max-children 2 $(foreach m,$(MUTANTS),'$(m)')
	$(BIN)/mutmut results

clean:
	rm -rf $(VENV) var mutants
