# The two commands a user needs: `make lab` (set up, then open JupyterLab) and `make test`
# (set up, lint, then execute every notebook under nbval and run the unit tests; CI runs exactly this).
# The rest are the steps they are made of.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# The LiteLLM proxy (a Gemini-API server for the text-generation notebook) needs its own environment.
PROXY_INSTALLED := $(VENV)/llm-proxy/.installed
# sentence-transformers' ONNX/OpenVINO backends (Optimum pins transformers 4; quantization notebook) too.
ST_BACKENDS_INSTALLED := $(VENV)/st-backends/.installed
NOTEBOOKS := $(sort $(wildcard */*.ipynb))
# Stored outputs are what the offline asset store gives, so tests and refreshes never reach for the Hub.
OFFLINE := HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
# Local OpenAI- and Gemini-compatible servers around a command, so the SDK cells run for real without keys.
WITH_LLM_SERVERS := $(BIN)/python -m tests.llm_servers --

.PHONY: lab lint test notebooks assets system-packages colab-links readme lock

$(INSTALLED): requirements-lock.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-lock.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

$(PROXY_INSTALLED): requirements-proxy-lock.txt
	$(PYTHON) -m venv $(VENV)/llm-proxy
	$(VENV)/llm-proxy/bin/pip install --quiet --disable-pip-version-check -r requirements-proxy-lock.txt
	touch $@

$(ST_BACKENDS_INSTALLED): requirements-st-backends-lock.txt
	$(PYTHON) -m venv $(VENV)/st-backends
	$(VENV)/st-backends/bin/pip install --quiet --disable-pip-version-check -r requirements-st-backends-lock.txt
	touch $@

assets: $(INSTALLED)
	$(BIN)/python -m nlp_assets fetch --all

# Programs that are not Python packages: the Apertium rule-based translator (machine_translation notebook);
# FFmpeg, which transformers' speech pipeline runs to decode an audio file given by path (speech_recognition).
# Installed with apt when missing (as root, else through sudo).
SYSTEM_PACKAGES := apertium apertium-eng-spa apertium-es-pt ffmpeg
system-packages:
	@command -v ffmpeg >/dev/null && command -v apertium >/dev/null && apertium -l | grep -qE '^ *spa-eng$$' && apertium -l | grep -qE '^ *es-pt$$' || \
		{ $(if $(filter 0,$(shell id -u)),,sudo) apt-get update -q && \
		  $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -q $(SYSTEM_PACKAGES); }

lab: assets system-packages
	$(BIN)/jupyter lab --notebook-dir=. $(if $(filter 0,$(shell id -u)),--allow-root)

# Ruff over the package, the tests and the notebooks (rules in pyproject.toml); `make test` runs it first.
lint: $(INSTALLED)
	$(BIN)/ruff check .

test: lint assets system-packages $(PROXY_INSTALLED) $(ST_BACKENDS_INSTALLED)
	$(OFFLINE) $(WITH_LLM_SERVERS) $(BIN)/python -m pytest --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg \
		--nbval-cell-timeout=600 tests $(NOTEBOOKS)

# Printed pieces (token streams, progress) are stored as one output per cell, not one per print: nbconvert's
# coalescing preprocessor, added after execution (the default one runs before it).
STREAMS_AS_ONE_OUTPUT := --NotebookExporter.preprocessors=nbconvert.preprocessors.CoalesceStreamsPreprocessor
# Re-execute notebooks in place (all, or NB=path/to/one.ipynb) to refresh their stored outputs.
NB ?= $(NOTEBOOKS)
notebooks: assets system-packages $(PROXY_INSTALLED) $(ST_BACKENDS_INSTALLED)
	$(OFFLINE) $(WITH_LLM_SERVERS) bash -c 'for nb in $(NB); do \
		echo "executing $$nb"; \
		(cd $$(dirname $$nb) && ../$(BIN)/jupyter nbconvert --to notebook --execute --inplace $(STREAMS_AS_ONE_OUTPUT) $$(basename $$nb)) || exit 1; \
	done'

colab-links: $(INSTALLED)
	$(BIN)/python -m nlp_assets.colab

# Regenerate the README's notebook table from the stored output of each notebook's `headline` cell.
readme: $(INSTALLED)
	$(BIN)/python -m nlp_assets.readme

# Re-resolve requirements.txt + requirements-dev.txt in a scratch venv and pin the result.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet torch==2.13.0 -r requirements.txt -r requirements-dev.txt
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^nlp-assets' | sed 's/+cpu$$//' > requirements-lock.txt
	rm -rf .lock-venv
