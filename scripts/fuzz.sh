#!/usr/bin/env bash
# Fuzzes Bottleneck's readers with libFuzzer (Swift -sanitize=fuzzer,address).
#   scripts/fuzz.sh [--findings DIR] [RUNS] [HARNESS...]
# RUNS: executions per harness (default 1000000). HARNESS: idx idx-gz npy csv image safetensors
# model architecture bnz search-index (default all). Each harness starts from a copy of its seed
# corpus (Tests/Fixtures/fuzz/<harness>, never written to) in a scratch folder and prints one JSON
# line: runs, edges (libFuzzer's final cov:), features (ft:), exec/s, seconds, crashes. Crashing
# inputs (crash, leak, timeout, out-of-memory) are copied to DIR/<harness>/ (default
# $FUZZ_FINDINGS or /tmp/bottleneck-fuzz-findings). Exits 1 when any harness found one.
# Environment: FUZZ_MAX_SECONDS caps each harness's time; FUZZ_FLAGS adds libFuzzer flags;
# FUZZ_SCRATCH keeps the corpora and logs there (default: a temporary folder, removed).
set -euo pipefail
cd "$(dirname "$0")/.."
FINDINGS=${FUZZ_FINDINGS:-/tmp/bottleneck-fuzz-findings}
if [ "${1:-}" = "--findings" ]; then FINDINGS=$2; shift 2; fi
RUNS=${1:-1000000}
[ $# -gt 0 ] && shift
ALL="idx idx-gz npy csv image safetensors model architecture bnz search-index"
HARNESSES=${*:-$ALL}
SEEDS=Tests/Fixtures/fuzz
# FUZZ_CONFIG=debug builds faster (the CI smoke run); release runs faster (the real campaign).
CONFIG=${FUZZ_CONFIG:-release}
SCRATCH_BUILD=.build-fuzz$([ "$CONFIG" = release ] || echo "-$CONFIG")
BIN=$SCRATCH_BUILD/$CONFIG/bottleneck-fuzz

# Release keeps Swift's overflow and bounds checks; every Swift and C module of the package is
# instrumented, so coverage counts the readers' edges (system libpng/libjpeg/zlib are not).
swift build --package-path Fuzz -c "$CONFIG" --scratch-path "$SCRATCH_BUILD" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -g -Xcc -fsanitize=fuzzer-no-link,address >&2

if [ -n "${FUZZ_SCRATCH:-}" ]; then SCRATCH=$FUZZ_SCRATCH; mkdir -p "$SCRATCH"
else SCRATCH=$(mktemp -d); trap 'rm -rf "$SCRATCH"' EXIT; fi
# Swift's runtime keeps caches for the process's life: leak reports would be noise.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=0}
# Swift's own crash reporter reads the dead process's memory, which ASan reports as a second,
# bogus error; libFuzzer's handler prints the stack instead.
export SWIFT_BACKTRACE=${SWIFT_BACKTRACE:-enable=no}
status=0
for h in $HARNESSES; do
    [ -d "$SEEDS/$h" ] || { echo "fuzz.sh: no harness '$h' (harnesses: $ALL)" >&2; exit 2; }
    corpus=$SCRATCH/corpus/$h artifacts=$SCRATCH/artifacts/$h/ log=$SCRATCH/$h.log
    rm -rf "$corpus" "$artifacts"; mkdir -p "$corpus" "$artifacts"
    cp "$SEEDS/$h"/* "$corpus"/
    # Inputs that once crashed a reader stay in the corpus (FuzzRegressionTests replays them too).
    if [ -d "$SEEDS/regressions/$h" ]; then cp "$SEEDS/regressions/$h"/* "$corpus"/; fi
    flags=(-runs="$RUNS" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 -max_len=65536
           -print_final_stats=1 -artifact_prefix="$artifacts")
    dict=$SEEDS/dict/${h%-gz}.dict
    [ "$h" = search-index ] || [ "$h" = model ] && dict=$SEEDS/dict/safetensors.dict
    [ -f "$dict" ] && flags+=(-dict="$dict")
    [ -n "${FUZZ_MAX_SECONDS:-}" ] && flags+=(-max_total_time="$FUZZ_MAX_SECONDS")
    # shellcheck disable=SC2086
    start=$(date +%s.%N)
    FUZZ_TARGET=$h "$BIN" "${flags[@]}" ${FUZZ_FLAGS:-} "$corpus" >"$log" 2>&1 || true
    end=$(date +%s.%N)
    crash_files=()
    for f in "$artifacts"*; do
        [ -f "$f" ] || continue
        case $(basename "$f") in slow-unit-*) continue ;; esac
        mkdir -p "$FINDINGS/$h"; cp "$f" "$FINDINGS/$h/"; crash_files+=("$FINDINGS/$h/$(basename "$f")")
    done
    [ ${#crash_files[@]} -gt 0 ] && status=1
    python3 - "$h" "$log" "$start" "$end" "${crash_files[@]}" <<'PY'
import json, re, sys
h, log, start, end, crashes = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5:]
text = open(log, errors="replace").read()
cov = re.findall(r"cov: (\d+) ft: (\d+)", text)
def stat(name):
    m = re.search(r"stat::%s:\s+(\d+)" % name, text)
    return int(m.group(1)) if m else None
runs = stat("number_of_executed_units")
if runs is None:
    m = re.findall(r"^#(\d+)", text, re.M)
    runs = int(m[-1]) if m else 0
print(json.dumps({"harness": h, "runs": runs, "edges": int(cov[-1][0]) if cov else 0,
                  "features": int(cov[-1][1]) if cov else 0, "exec_per_s": stat("average_exec_per_sec") or round(runs / max(end - start, 1e-3)),
                  "seconds": round(end - start, 1), "crashes": len(crashes), "crash_files": crashes}))
for c in crashes:
    first = [l for l in text.splitlines() if "Fatal error" in l or "Swift runtime failure" in l or "==ERROR" in l or "deadly signal" in l or "SUMMARY:" in l]
    print("fuzz.sh: %s: %s" % (c, first[0] if first else "see the log"), file=sys.stderr)
PY
done
exit $status
