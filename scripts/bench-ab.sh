#!/usr/bin/env bash
# Before/after benchmark of two bottleneck binaries, run alternately in one sitting:
#   bash scripts/bench-ab.sh OLD_BINARY NEW_BINARY [ROUNDS] [WORKLOADS] [MAX_BATCHES]
# Prints one JSON line per workload: the median samples/s of each and their ratio (new / old).
set -euo pipefail
old=$1 new=$2 rounds=${3:-3}
workloads=${4:-dense,deep_dense,vae,conv_seed,denoise,infer_conv_seed,conv_wiki}
batches=${5:-150}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for r in $(seq "$rounds"); do
    for side in old new; do
        bin=$old; [ "$side" = new ] && bin=$new
        "$bin" bench --workloads "$workloads" --max-batches "$batches" --no-eval 2>/dev/null |
            sed -n 's/.*"train_samples_per_s":\([0-9.e+]*\).*"workload":"\([a-z_]*\)".*/\2 '"$side"' \1/p' >> "$out"
    done
done
awk '
    { v[$1 " " $2] = v[$1 " " $2] " " $3; if (!($1 in seen)) { seen[$1] = 1; order[n++] = $1 } }
    function median(s,    a, k, i, j, t) {
        k = split(s, a, " ")
        for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
    }
    END {
        for (i = 0; i < n; i++) {
            w = order[i]; o = median(v[w " old"]); m = median(v[w " new"])
            printf "{\"workload\":\"%s\",\"old_samples_per_s\":%.1f,\"new_samples_per_s\":%.1f,\"ratio\":%.4f}\n", w, o, m, m / o
        }
    }' "$out"
