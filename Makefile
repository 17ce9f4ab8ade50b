# Skranke: the two commands of the README, plus benchmarks and lint.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo server-demo test test-postgresql bench lint clean catalogues

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

# The backend's tests a second time on PostgreSQL (tests/pg.py starts a throwaway cluster;
# without PostgreSQL's binaries the pass is skipped with a message). The console, browser,
# snapshot and pure domain tests touch no database of their own, and the console's fault
# tests (tests/faults: network, unknown outcomes, a frozen server) test the console: once
# is enough.
PG_TESTS := tests --ignore=tests/browser --ignore-glob='tests/test_console_*' \
	--ignore-glob='tests/test_domain_*' --ignore-glob='tests/test_planner*' \
	--ignore=tests/test_layers.py --ignore=tests/test_bench.py \
	--ignore=tests/sim/test_sim_days.py --ignore=tests/sim/test_sim_hindsight.py \
	--ignore=tests/sim/test_sim_queueing.py --ignore=tests/security/test_console_plain_http.py \
	--ignore=tests/faults/test_network_faults.py --ignore=tests/faults/test_unknown.py \
	--ignore=tests/faults/test_server_faults.py

# Three test processes (pytest-xdist), each test handed to the next free one: most tests
# wait on a server, a browser or a clock, so three share two cores well (the SQLite pass
# 384 s against 784-925 s in one process; docs/performance.md, "The test suite").
# TEST_PROCESSES=0 runs the tests in one process.
TEST_PROCESSES ?= 3
PYTEST := $(BIN)/python -m pytest -n $(TEST_PROCESSES) --dist worksteal

test: $(STAMP)
	$(BIN)/ruff check .
	$(PYTEST)
	SKRANKE_TEST_DB=postgresql $(PYTEST) $(PG_TESTS)

test-postgresql: $(STAMP)
	SKRANKE_TEST_DB=postgresql $(PYTEST) $(PG_TESTS)

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
