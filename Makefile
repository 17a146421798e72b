# Two commands do all set-up on a fresh machine (Python >= 3.11 and make required):
#   make demo    the main job: the dev stack's offline plan, then the stitching service on SQLite and the
#                cross-channel journey replayed through the real data actions
#   make test    run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STACK ?= dev

.PHONY: demo plan test lint check golden clean serve bench bench-generator bench-flows

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --editable .
	touch $@

demo: plan
	$(BIN)/python -m genesys_identity demo

plan: $(STAMP)
	$(BIN)/python -m genesys_identity plan --stack $(STACK)

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

check: test lint

# The stitching service on the embedded default (SQLite under build/stitching/, a dev caller token generated
# once into build/stitching/dev-api-token). Production runs the container image: containers/stitching.Containerfile.
serve: $(STAMP)
	$(BIN)/python -m stitching serve --dev

# Throughput and p50/p99 of stitch and context beside a no-op endpoint, on SQLite and a throwaway PostgreSQL.
bench: $(STAMP)
	$(BIN)/python -m stitching bench

# Time to evaluate the program and write the plan for 1, 10 and 100 web deployments.
bench-generator: $(STAMP)
	$(BIN)/python -m genesys_identity bench

# Validating the dev stack's flows, then each flow run for the example messages against a throwaway service
# (a run's own cost beyond its data action calls).
bench-flows: $(STAMP)
	$(BIN)/python -m genesys_identity flow bench --stack $(STACK)

# Rewrite the golden files (rendered artifacts) after an intended change; review the diff before committing.
golden: $(STAMP)
	$(BIN)/python -m pytest --update-golden -q -m golden

clean:
	rm -rf build $(VENV)
