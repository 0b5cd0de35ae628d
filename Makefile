# Bottleneck: the two commands a new user needs are `make demo` and `make test`.
SWIFT ?= swift
RELEASE = $(SWIFT) build -c release
BIN = .build/release/bottleneck
export OPENBLAS_NUM_THREADS ?= 2

.PHONY: setup build demo test test-debug bench quality clean

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

quality: build
	bash scripts/quality.sh

clean:
	rm -rf .build
