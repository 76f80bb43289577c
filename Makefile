# The two commands a user needs: `make lab` (set up, then open JupyterLab) and `make test`
# (set up, then execute every notebook under nbval and run the unit tests; CI runs exactly this).
# The rest are the steps they are made of.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard */*.ipynb))
# Stored outputs are what the offline asset store gives, so tests and refreshes never reach for the Hub.
OFFLINE := HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false

.PHONY: lab test notebooks assets colab-links lock

$(INSTALLED): requirements-lock.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-lock.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

assets: $(INSTALLED)
	$(BIN)/python -m nlp_assets fetch --all

lab: assets
	$(BIN)/jupyter lab --notebook-dir=. $(if $(filter 0,$(shell id -u)),--allow-root)

test: assets
	$(OFFLINE) $(BIN)/python -m pytest --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg \
		--nbval-cell-timeout=600 tests $(NOTEBOOKS)

notebooks: assets
	@for nb in $(NOTEBOOKS); do \
		echo "executing $$nb"; \
		(cd $$(dirname $$nb) && $(OFFLINE) ../$(BIN)/jupyter nbconvert --to notebook --execute --inplace $$(basename $$nb)) || exit 1; \
	done

colab-links: $(INSTALLED)
	$(BIN)/python -m nlp_assets.colab

# Re-resolve requirements.txt + requirements-dev.txt in a scratch venv and pin the result.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet torch==2.13.0 -r requirements.txt -r requirements-dev.txt
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^nlp-assets' | sed 's/+cpu$$//' > requirements-lock.txt
	rm -rf .lock-venv
