# orderbot: `make run` (embedded service at http://127.0.0.1:8080) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test lint typecheck layers unit bench clean

install: $(STAMP)

# Re-installs only when pyproject.toml changes; otherwise a no-op.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "orderbot needs Python >= 3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/orderbot db upgrade
	ORDERBOT_DEMO__ENABLED=true $(BIN)/orderbot run

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy

layers: install
	$(BIN)/lint-imports

test: lint layers typecheck
	@test -x /usr/bin/chromium && fc-list :lang=zh | grep -q . || (apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-microhei)
	$(BIN)/pytest -q

bench: install
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache *.egg-info
