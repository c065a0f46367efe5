# One command sets up and runs the app; one sets up and runs the tests.
#   make app    create .venv, install, build the ICD-10-CM index and the ICD-10-PCS book once, start the workbench
#   make test   create .venv, install, install Chromium for the browser tests, run pytest
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8501

.PHONY: install index app test browser postgres lint bench bench-reading bench-workbench bench-llm bench-guidelines bench-batch bench-chroma bench-agent check-titles

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

index: $(STAMP)
	$(BIN)/coda index build
	$(BIN)/coda index build --system icd10pcs

app: index
	$(BIN)/coda app --port $(PORT)

# Debian's Chromium for the end-to-end tests (Playwright's own browser download does not work here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Chromium is missing: install Debian's chromium package for the browser tests"; fi; }

# PostgreSQL 15's initdb and pg_ctl for the store tests on a real server (they start their own on a
# temporary socket; without it they skip, and .ci/run refuses to go on).
postgres:
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else echo "PostgreSQL is missing: install Debian's postgresql package for the store tests on PostgreSQL"; fi; }

test: $(STAMP) browser postgres
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check app agent index tests benchmarks
	$(BIN)/ruff format --check app agent index tests benchmarks

bench: index
	$(BIN)/python benchmarks/index_benchmark.py

bench-reading: $(STAMP)
	$(BIN)/python benchmarks/reading_benchmark.py

bench-workbench: index browser
	$(BIN)/python benchmarks/workbench_latency.py

bench-llm: index
	$(BIN)/python benchmarks/llm_reliability.py

bench-guidelines: index
	$(BIN)/python benchmarks/guideline_cases.py

# coda batch on the CodiEsp dev notes (../shared), local and on a local Ray instance.
bench-batch: index
	$(BIN)/python benchmarks/batch_throughput.py

# The code index on a Chroma server (its own `chroma run` on 127.0.0.1) against the release's folder.
bench-chroma: index
	$(BIN)/python benchmarks/chroma_server.py

# The LLM agent's tools on CodiEsp dev notes (../shared): prompt size, time and reply size per tool.
bench-agent: index
	$(BIN)/python benchmarks/agent_tools.py

check-titles: index
	$(BIN)/python benchmarks/title_check.py

# Refresh the README's pictures of the workbench and of the inpatient claim's panel (the browser tests otherwise write theirs to a temporary folder).
.PHONY: screenshot
screenshot: $(STAMP) browser
	CODA_SCREENSHOT=$(CURDIR)/assets/screenshot-workbench.png CODA_SCREENSHOT_DRG=$(CURDIR)/assets/screenshot-drg.png \
	  $(BIN)/python -m pytest -q -p no:cacheprovider \
	  tests/app/test_e2e.py::test_code_a_sample_review_it_and_export_the_fhir_claim \
	  tests/app/test_e2e.py::test_the_hip_fracture_claim_gets_its_stay_poa_drg_and_837i
