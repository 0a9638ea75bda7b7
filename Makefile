# Every target bootstraps .venv itself, so a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DATA ?= demo-data
PORT ?= 8470
APP_PORT ?= 8550

.PHONY: all venv browser demo test lint format bench clean

all: test

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(BIN)/walkaudit-server --data $(DEMO_DATA) demo --port $(PORT) --app-port $(APP_PORT)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q --no-header tests/test_layout.py

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The browser tests use Debian's chromium (Playwright's own download cannot work offline); the PDF
# tests read the protocols back with poppler's pdftotext/pdftoppm.
browser:
	@command -v chromium >/dev/null && command -v pdftotext >/dev/null || { \
	  echo "installing chromium and poppler-utils (apt) for the browser and PDF tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO apt-get install -y -qq chromium poppler-utils >/dev/null; }

test: lint browser
	$(BIN)/python -m pytest

bench: venv
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) $(DEMO_DATA) .mypy_cache .ruff_cache .pytest_cache
