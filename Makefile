# Bottleneck: the two commands a new user needs are `make demo` and `make test`.
SWIFT ?= swift
RELEASE = $(SWIFT) build -c release
BIN = .build/release/bottleneck
export OPENBLAS_NUM_THREADS ?= 2

.PHONY: setup build demo test test-backends test-debug test-unit-debug example docs bench bench-serve compare quality fuzz fuzz-smoke clean

setup:
	@bash scripts/setup.sh

build: setup
	$(RELEASE)

demo: build
	$(BIN) demo

# Release mode with testing enabled: the training-based tests need optimised code.
test:
	@bash scripts/setup.sh --test
	$(SWIFT) test -c release -Xswiftc -enable-testing
	$(MAKE) --no-print-directory test-backends

# The gradient checks and PyTorch parity suites once more on each GEMM backend, forced, with the
# convolutions forced onto im2col with OpenBLAS and onto oneDNN's primitives with oneDNN's GEMM
# (the suite above ran on what this machine's measurements chose).
PARITY_TESTS = GEMMBackendTests|CoreOpsTests|ParityCoreTests|ConvolutionTests|DNNLConvolutionTests|PoolingTests|NormalizationTests|LSTMTests|LayerSweepTests|PresetTests|VariantUnitTests|EndToEndTests
test-backends:
	@for pair in openblas:im2col onednn:onednn; do b=$${pair%%:*}; c=$${pair##*:}; \
	  echo "== parity and gradient suites, BOTTLENECK_GEMM=$$b BOTTLENECK_CONV=$$c"; \
	  BOTTLENECK_GEMM=$$b BOTTLENECK_CONV=$$c $(SWIFT) test -c release -Xswiftc -enable-testing --filter '$(PARITY_TESTS)' || exit 1; done

test-debug: setup
	$(SWIFT) test

# The unit tests (ops, layers, gradients, parsers, configuration) in a debug build: bounds and
# overflow checks on. Training-based tests stay in the release suite above.
UNIT_TESTS = ReaderLimitTests|JSONRowsTests|FuzzRegressionTests|LayerSweepTests|SampleMetricsTests|CoreOpsTests|ParityCoreTests|FastPathTests|ConvolutionTests|DNNLConvolutionTests|PoolingTests|NormalizationTests|LSTMTests|BottleneckTests.OptimizerTests|LineSearchOptimizerTests|SafeTensorsTests|DataFormatTests|ImageTests|PresetTests|VariantUnitTests
test-unit-debug: setup
	$(SWIFT) test --filter '$(UNIT_TESTS)'

# The example package, depending on a tagged clone of this checkout by version.
example: setup
	bash scripts/example.sh

# DocC archives of every library target (swift-docc-plugin); warnings fail the build.
DOC_TARGETS = BottleneckCore BottleneckNN BottleneckData BottleneckTraining BottleneckApps Bottleneck BottleneckServe BottleneckONNX
docs: setup
	@for t in $(DOC_TARGETS); do $(SWIFT) package generate-documentation --target $$t --warnings-as-errors || exit 1; done

bench: build
	$(BIN) bench

# `bottleneck serve` under wrk on loopback against FastAPI + uvicorn + PyTorch (bench/reference/),
# with and without dynamic batching, and a 5-minute soak (SOAK_SECONDS); JSON lines.
bench-serve: build
	BN=$(BIN) bash scripts/bench-serve.sh

# Ours against the PyTorch reference, alternating runs (TORCH_PYTHON=venv/bin/python if not python3).
compare: build
	BN=$(BIN) bash scripts/compare.sh

quality: build
	@bash scripts/setup.sh --test
	bash scripts/quality.sh

# libFuzzer over every reader (Fuzz/ package, address sanitizer); crashing inputs go to
# $(FUZZ_FINDINGS). fuzz-smoke is the short run for CI.
FUZZ_RUNS ?= 1000000
FUZZ_FINDINGS ?= /tmp/bottleneck-fuzz-findings
fuzz: setup
	bash scripts/fuzz.sh --findings $(FUZZ_FINDINGS) $(FUZZ_RUNS)

fuzz-smoke: setup
	FUZZ_CONFIG=debug bash scripts/fuzz.sh --findings $(FUZZ_FINDINGS) 2000

clean:
	rm -rf .build .build-fuzz .build-fuzz-debug
