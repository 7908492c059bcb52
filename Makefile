# Two commands on a fresh machine: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch goes in first and pinned: the CPU-only 2.13 wheel breaks torchvision here.
TORCH  := torch==2.14.1 torchvision==0.29.1
# Without an NVIDIA GPU, PyTorch's CPU-only wheels: the CUDA libraries are 3.2 GB of .venv.
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu
PIP    := $(BIN)/python -m pip install --quiet
CPU_INDEX_UP := $(BIN)/python -c "import urllib.request as r; r.urlopen('$(TORCH_CPU_INDEX)/torch/', timeout=10)"
STAMP  := $(VENV)/.setup-done

APP    := app
NPM_STAMP := $(APP)/node_modules/.ci-done
SHARED_WEIGHTS := ../shared/assets/weights/yolo26n-coco.pt
APP_MODEL := $(APP)/public/model/model.json

.PHONY: setup demo test bench lint clean app app-check golden

setup: $(STAMP)

# The ray extra (`label --ray`) is installed too so that its tests run: about 20 s more.
$(STAMP): pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "edgedistill needs Python >= 3.11 (set PYTHON=python3.11 or newer)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	@if nvidia-smi >/dev/null 2>&1; then \
		echo "$(PIP) $(TORCH)"; $(PIP) $(TORCH); \
	elif $(CPU_INDEX_UP) 2>/dev/null && $(PIP) --index-url $(TORCH_CPU_INDEX) $(TORCH); then \
		echo "no NVIDIA GPU: installed PyTorch's CPU-only wheels from $(TORCH_CPU_INDEX)"; \
	else \
		echo "note: no NVIDIA GPU, but the CPU-only wheels could not be fetched from $(TORCH_CPU_INDEX): installing the default torch wheels, CUDA libraries included (about 3 GB more)"; \
		$(PIP) $(TORCH); \
	fi
	$(PIP) -e '.[dev,sam3,ray]'
	@touch $@

# The demo uses real footage and real pretrained weights when ../shared/assets has them:
# VIDEO= wins, else the first clip there; the generated clip is the last resort.
SHARED := ../shared/assets
DEMO_VIDEO = $(or $(VIDEO),$(firstword $(wildcard $(SHARED)/videos/*.mp4)))

demo: export EDGEDISTILL_WEIGHTS_DIR ?= $(if $(wildcard $(SHARED)/weights),$(abspath $(SHARED)/weights))
demo: setup
	$(BIN)/edgedistill demo $(if $(DEMO_VIDEO),--video "$(DEMO_VIDEO)")

test: setup app
	$(BIN)/python -m pytest -q

# The Expo app: dependencies from the lockfile, a student (from ../shared when present),
# type check, jest, expo-doctor and the web build that tests/test_app_web.py opens in Chromium.
app: setup
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory app-check; \
	else echo "note: Node.js/npm not installed; the app's checks are skipped"; fi

app-check: $(NPM_STAMP) $(if $(wildcard $(SHARED_WEIGHTS)),$(APP_MODEL))
	cd $(APP) && npx tsc --noEmit
	cd $(APP) && npx jest --ci
	cd $(APP) && node scripts/doctor.js
	cd $(APP) && node scripts/copy-ort.js && npx expo export -p web >/dev/null && echo "web build: $(APP)/dist"

$(NPM_STAMP): $(APP)/package-lock.json
	cd $(APP) && npm ci --no-audit --no-fund
	@touch $@

$(APP_MODEL):
	$(BIN)/edgedistill export-app --weights $(SHARED_WEIGHTS) --out $(APP)/public/model \
		--parity-frames ../shared/assets/images/dashcam_stills

# Rewrites the TypeScript HUD's golden vectors and the iPhone frame pipeline's recorded
# frames from the Python HUD (needs ../shared).
golden: setup
	$(BIN)/python tools/golden_vectors.py
	$(BIN)/python tools/golden_camera.py

bench: setup
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/label.py
	$(BIN)/python bench/label_ray.py
	$(BIN)/python bench/distill.py
	$(BIN)/python bench/quality.py
	$(BIN)/python bench/realtime.py
	$(BIN)/python bench/serve.py
	$(BIN)/python bench/trust.py
	cd $(APP) && node bench/hud.js
	cd $(APP) && node bench/frame.js
	$(BIN)/python bench/app_web.py

lint: setup
	$(BIN)/ruff check src tests bench tools
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) demo bench/results .pytest_cache $(APP)/node_modules $(APP)/dist $(APP)/public
