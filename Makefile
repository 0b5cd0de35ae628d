# Bottleneck: the two commands a new user needs are `make demo` and `make test`.
SWIFT ?= swift
RELEASE = $(SWIFT) build -c release
BIN = .build/release/bottleneck
export OPENBLAS_NUM_THREADS ?= 2

.PHONY: setup build demo test test-debug bench compare quality clean

setup:
	@bash scripts/setup.sh

build: setup
	$(RELEASE)

demo: build
	$(BIN) demo

# Release mode with testing enabled: the training-based tests need optimised code.
test: setup
	$(SWIFT) test -c release -Xswiftc -enable-testing

test-debug: setup
	$(SWIFT) test

bench: build
	$(BIN) bench

# Ours against the PyTorch reference, alternating runs (TORCH_PYTHON=venv/bin/python if not python3).
compare: build
	BN=$(BIN) bash scripts/compare.sh

quality: build
	bash scripts/quality.sh

clean:
	rm -rf .build
