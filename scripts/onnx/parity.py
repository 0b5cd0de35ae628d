"""Runs Bottleneck's ONNX exports of one model in onnxruntime and compares them with Bottleneck.

parity.py NAME DIR: DIR holds NAME-full.onnx, NAME-encoder.onnx, NAME-decoder.onnx, the raw inputs
inputs.npy (or NAME.inputs.npy), Bottleneck's codes NAME.codes.npy and reconstructions
NAME.decoded.npy of those inputs, and detect's results NAME.results.csv (recon score). Prints one
JSON line: the largest difference of each graph (|a - b| / max(1, |b|)) and how many anomaly flags
agree; exits 1 when a difference passes 1e-5 or a flag differs.
"""
import csv, json, sys
import numpy as np
import onnx
import onnxruntime as ort

name, folder = sys.argv[1], sys.argv[2]
limit = 1000

def load(path):
    return np.load(path).astype(np.float32)

inputs_path = f"{folder}/{name}.inputs.npy"
try:
    x = load(inputs_path)
except FileNotFoundError:
    x = load(f"{folder}/inputs.npy")
x = x[:limit]
codes = load(f"{folder}/{name}.codes.npy")[:limit]
decoded = load(f"{folder}/{name}.decoded.npy")[:limit]

def run(part, feed):
    session = ort.InferenceSession(f"{folder}/{name}-{part}.onnx", providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: feed})[0]

def worst(a, b):
    a, b = a.reshape(len(a), -1).astype(np.float64), b.reshape(len(b), -1).astype(np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))

model = onnx.load(f"{folder}/{name}-full.onnx")
onnx.checker.check_model(model, full_check=True)
meta = {p.key: p.value for p in model.metadata_props}
full = run("full", x)
encoded = run("encoder", x)
redecoded = run("decoder", codes.reshape((len(codes),) + tuple(d.dim_value for d in
    onnx.load(f"{folder}/{name}-decoder.onnx").graph.input[0].type.tensor_type.shape.dim[1:])))
result = {"model": name, "full": worst(full, decoded), "encoder": worst(encoded, codes), "decoder": worst(redecoded, decoded)}

# The recon score in the model's scaled units, flagged above the stored threshold, as detect does.
scaling = json.loads(meta["scaling"])
def scaled(v):
    if scaling["kind"] == "none":
        return v
    shift, divisor = np.array(scaling["shift"], np.float64), np.array(scaling["divisor"], np.float64)
    if scaling["kind"] == "fixedRange":
        return (v - shift[0]) / divisor[0]
    axis = v.ndim + scaling["featureAxis"]
    shape = [1] * v.ndim
    shape[axis] = len(shift)
    return (v - shift.reshape(shape)) / divisor.reshape(shape)
scores = np.mean((scaled(full.astype(np.float64)) - scaled(x.astype(np.float64))) ** 2, axis=tuple(range(1, x.ndim)))
threshold = float(meta["threshold"])
with open(f"{folder}/{name}.results.csv") as f:
    ours = [row["flag"] in ("1", "true") for row in csv.DictReader(f)][:limit]
theirs = list(scores > threshold)
result["flags_agree"] = int(sum(a == b for a, b in zip(ours, theirs)))
result["samples"] = len(ours)
result["flagged"] = int(sum(ours))
print(json.dumps(result))
sys.exit(0 if max(result["full"], result["encoder"], result["decoder"]) <= 1e-5 and result["flags_agree"] == len(ours) else 1)
