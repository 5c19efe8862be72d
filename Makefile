# Build/test entry points for vtrack.  `make test` is what CI runs (.ci/run).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

# Debian packages the test suite and demo need.  Later steps append here
# (e.g. `APT_PACKAGES += redis-server`); setup installs only what is missing.
APT_PACKAGES := python3-venv postgresql redis-server
# Debian's Chromium is the browser the dashboard tests drive (Playwright never downloads its own).
APT_PACKAGES += chromium
APT_PACKAGES += gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav gir1.2-gst-rtsp-server-1.0 python3-gi

# apt-get needs root; only reach for sudo when we are not already root.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: setup apt-packages lint test soak demo bench clean

setup: apt-packages $(VENV)/.installed node_modules/.installed
	@mkdir -p data

# `dpkg -s` fails if any listed package is not installed, so the (slow)
# apt-get path only runs when something is actually missing.
apt-packages:
	@if ! dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then \
		echo "Installing Debian packages: $(APT_PACKAGES)"; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(APT_PACKAGES); \
	fi

# pyvenv.cfg (a regular file, unlike bin/python) marks an existing venv.
$(VENV)/pyvenv.cfg:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "vtrack needs Python >= 3.11, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)

# Re-install only when pyproject.toml changes; the venv is order-only so that
# its own mtime (touched by pip) never forces a reinstall.
$(VENV)/.installed: pyproject.toml | $(VENV)/pyvenv.cfg
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,tapo]'
	@touch $@

# The dashboard's scripts (htmx) come from the npm registry, pinned by package-lock.json; npm itself from
# Debian when the machine has none.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends npm
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

# The 20 slowest tests close the report: the suite must stay within 25 minutes on 2 cores.
test: setup lint
	$(BIN)/pytest -q --durations=20

# Exit status 5 means "no tests collected": fine while no soak tests exist.
soak: setup
	@rc=0; $(BIN)/pytest -q -m soak || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "no soak tests collected"; rc=0; fi; \
	exit $$rc

# The shared clip of people walking, when the checkout has it beside it, makes the demo cameras realistic.
DEMO_VIDEO := ../shared/data/people_walk_720p50.avi
DEMO_MODEL := ../shared/models/yolox_nano.onnx

demo: setup
	$(BIN)/vtrack demo $(if $(wildcard $(DEMO_VIDEO)),--video $(DEMO_VIDEO)) $(if $(wildcard $(DEMO_MODEL)),--model $(DEMO_MODEL))

# The cloud sync benchmark measures against Debian's rclone; only `make bench` needs it.
bench: setup
	@dpkg -s rclone >/dev/null 2>&1 || $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rclone
	$(BIN)/python bench/registry.py
	$(BIN)/python bench/simulator.py
	$(BIN)/python bench/health.py
	$(BIN)/python bench/sync.py
	$(BIN)/python bench/cloud_sync.py
	$(BIN)/python bench/live.py

clean:
	rm -rf $(VENV) node_modules build dist src/*.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis artifacts
	find . -path ./data -prune -o -path ./node_modules -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
