# Two commands on a fresh machine: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch goes in first and pinned: the CPU-only 2.13 wheel breaks torchvision here.
TORCH  := torch==2.14.1 torchvision==0.29.1
STAMP  := $(VENV)/.setup-done

.PHONY: setup demo test bench lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "edgedistill needs Python >= 3.11 (set PYTHON=python3.11 or newer)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[dev,sam3]'
	@touch $@

# The demo uses real footage and real pretrained weights when ../shared/assets has them:
# VIDEO= wins, else the first clip there; the generated clip is the last resort.
SHARED := ../shared/assets
DEMO_VIDEO = $(or $(VIDEO),$(firstword $(wildcard $(SHARED)/videos/*.mp4)))

demo: export EDGEDISTILL_WEIGHTS_DIR ?= $(if $(wildcard $(SHARED)/weights),$(abspath $(SHARED)/weights))
demo: setup
	$(BIN)/edgedistill demo $(if $(DEMO_VIDEO),--video "$(DEMO_VIDEO)")

test: setup
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/label.py
	$(BIN)/python bench/distill.py
	$(BIN)/python bench/realtime.py
	$(BIN)/python bench/serve.py

lint: setup
	$(BIN)/ruff check src tests bench

clean:
	rm -rf $(VENV) demo bench/results .pytest_cache
