#!/usr/bin/env bash
# How well a threshold fitted on training rows keeps its promised false-positive rate on small
# tables, against one fitted on held-out rows: for each tabular fixture, the default model
# trained on all normal training rows with the threshold (contamination 0.05) fitted on those same
# rows, then trained on a seeded 80% with the threshold fitted on the other 20%
# (`--train-data held-out.csv`). Prints test AUROC, false-positive rate on the test normals
# (promised: 0.05) and recall. About 10 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
export BN="${BN:-$PWD/.build/release/bottleneck}" FIX="$PWD/Tests/Fixtures/tabular"
export DIR="${QUALITY_DIR:-$PWD/out/quality}/threshold-holdout"
mkdir -p "$DIR"
python3 - <<'PY'
import csv, json, os, random, subprocess
bn, fix, out = os.environ["BN"], os.environ["FIX"], os.environ["DIR"]
names = sorted(json.load(open(f"{fix}/baselines.json"))["datasets"])
print("| dataset | threshold fitted on | AUROC | false-positive rate | recall |\n|---|---|---|---|---|")
for name in names:
    rows = list(csv.reader(open(f"{fix}/{name}/train.csv")))
    head, body = rows[0], rows[1:]
    random.Random(0).shuffle(body)
    cut = int(len(body) * 0.8)
    for part, part_rows in (("fit", body[:cut]), ("held-out", body[cut:])):
        with open(f"{out}/{name}.{part}.csv", "w", newline="") as f:
            w = csv.writer(f); w.writerow(head); w.writerows(part_rows)
    for setup, data, fitted_on in (("training rows (all)", f"{fix}/{name}/train.csv", f"{fix}/{name}/train.csv"),
                                   ("held-out 20%", f"{out}/{name}.fit.csv", f"{out}/{name}.held-out.csv")):
        model = f"{out}/{name}.{'all' if 'all' in setup else 'held'}.safetensors"
        subprocess.run([bn, "train", "--data", data, "--label-column", "anomaly", "-o", model], check=True, capture_output=True)
        r = json.loads(subprocess.run([bn, "detect", "--model", model, "--data", f"{fix}/{name}/test.csv", "--label-column", "anomaly",
                                       "--train-data", fitted_on, "--json"], check=True, capture_output=True, text=True).stdout)
        print(f"| {name} | {setup} | {r['auroc']:.4f} | {r['falsePositiveRate']:.3f} | {r['recall']:.3f} |")
PY
