# Skranke: the two commands of the README, plus benchmarks and lint.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo server-demo test bench lint clean catalogues

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/skranke demo

server-demo: $(STAMP)
	$(BIN)/skranke-server demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache

# Translations: extract the messages, merge them into da/en, compile the .mo files.
catalogues: $(STAMP)
	$(BIN)/pybabel extract -k N_ --no-location --sort-output --project=skranke \
		-o console/locale/skranke.pot console screens widgets
	$(BIN)/pybabel update --no-fuzzy-matching -D skranke -i console/locale/skranke.pot \
		-d console/locale
	$(BIN)/pybabel compile --use-fuzzy -D skranke -d console/locale
