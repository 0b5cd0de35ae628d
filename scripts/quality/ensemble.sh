#!/usr/bin/env bash
# Whether ensembles pay on the tabular fixtures: for each dataset, `bottleneck train --ensemble K`
# (the defaults from the data, seeds 0..K-1), then `detect` with each member alone and with all K
# together, by each of the scores in ENSEMBLE_SCORES (default: recon, the default score of these
# models, and combined). Prints per dataset the members' mean and worst AUROC and the ensemble's,
# then the means and worst gaps to IsolationForest. ENSEMBLE_K=5 by default; about 20 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
BN="${BN:-$PWD/.build/release/bottleneck}"
QUALITY_DIR="${QUALITY_DIR:-$PWD/out/quality}"
DIR="$QUALITY_DIR/ensemble"
FIX="$PWD/Tests/Fixtures/tabular"
K="${ENSEMBLE_K:-5}"
DATASETS="${TABULAR_DATASETS:-breast_cancer wine digits iris manifold gaussian_mixture}"
SCORES="${ENSEMBLE_SCORES:-recon combined}"
mkdir -p "$DIR"
baseline() { python3 -c "import json,sys; print(json.load(open('$FIX/baselines.json'))['datasets']['$1']['$2'])"; }
auroc() { sed -n 's/.*"auroc" : \([0-9.e-]*\).*/\1/p'; }

results="$DIR/results.tsv"; : > "$results"
echo "tabular fixtures, defaults from the data, $K seeds"
printf "| dataset | IsolationForest | score | members' mean | worst member | ensemble of %d |\n|---|---|---|---|---|---|\n" "$K"
for name in $DATASETS; do
    forest=$(baseline "$name" isolation_forest_auroc)
    train="$FIX/$name/train.csv"; test="$FIX/$name/test.csv"
    "$BN" train --data "$train" --label-column anomaly --ensemble "$K" --seed 0 -o "$DIR/$name.safetensors" > "$DIR/$name.train.log" 2>&1
    members=(); for i in $(seq 1 "$K"); do members+=("$DIR/$name-$i.safetensors"); done
    for score in $SCORES; do
        single=()
        for m in "${members[@]}"; do
            single+=("$("$BN" detect --model "$m" --data "$test" --label-column anomaly --train-data "$train" --score "$score" --json | auroc)")
        done
        together=$("$BN" detect "${members[@]/#/--model=}" --data "$test" --label-column anomaly --train-data "$train" --score "$score" --json | auroc)
        read -r mean worst < <(printf "%s\n" "${single[@]}" | awk '{ s += $1; if (NR == 1 || $1 < w) w = $1 } END { print s / NR, w }')
        printf "| %s | %s | %s | %.4f | %.4f | %.4f |\n" "$name" "$forest" "$score" "$mean" "$worst" "$together"
        printf "%s\t%s\t%s\t%s\t%s\n" "$score" "$mean" "$worst" "$together" "$forest" >> "$results"
    done
done
echo
awk -F'\t' '{ n[$1]++; m[$1] += $2; e[$1] += $4; f[$1] += $5; g = $2 - $5; h = $4 - $5
              if (!($1 in gm) || g < gm[$1]) gm[$1] = g; if (!($1 in ge) || h < ge[$1]) ge[$1] = h }
    END { for (s in n) printf "%-9s mean AUROC: one model %.4f, ensemble %.4f (IsolationForest %.4f); worst gap: one model (seeds averaged) %+.4f, ensemble %+.4f\n",
                               s, m[s] / n[s], e[s] / n[s], f[s] / n[s], gm[s], ge[s] }' "$results" | sort
