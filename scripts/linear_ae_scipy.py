"""SciPy's L-BFGS-B on the linear autoencoder (code 16) of 2,000 Fashion-MNIST images, float64,
from a PyTorch-style uniform initialisation: how many evaluations it needs to come within 0.5% of
PCA's optimum, for raw, centred and standardised data and for an encoder started ten times larger.
The README's remark on the linear autoencoder's conditioning quotes it. Needs numpy and scipy;
run: python3 scripts/linear_ae_scipy.py (FMNIST_DIR as for shared/peers/fmnist.py).
"""
import sys, numpy as np
from scipy.optimize import minimize
import gzip, os
def load_images(directory=os.environ.get("FMNIST_DIR", "/usr/share/datasets/fashion-mnist")):
    with gzip.open(os.path.join(directory, "train-images-idx3-ubyte.gz"), "rb") as f:
        data = f.read()
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(-1, 784) / 255.0
x0 = load_images()[:2000].astype(np.float64)
n, d = x0.shape; k = 16
def run(x, label, iters=600, scaleA=1.0):
    xc = x - x.mean(0)
    s = np.linalg.svd(xc, compute_uv=False)
    opt = (s[k:]**2).sum() / (n*d)
    rng = np.random.default_rng(0)
    b1 = scaleA/np.sqrt(d); b2 = 1/np.sqrt(k)
    A = rng.uniform(-b1, b1, (k, d)); c1 = rng.uniform(-b1, b1, k); B = rng.uniform(-b2, b2, (d, k)); c2 = rng.uniform(-b2, b2, d)
    def unpack(w):
        i = 0
        A = w[i:i+k*d].reshape(k, d); i += k*d
        c1 = w[i:i+k]; i += k
        B = w[i:i+d*k].reshape(d, k); i += d*k
        return A, c1, B, w[i:i+d]
    hist = []
    def fg(w):
        A, c1, B, c2 = unpack(w)
        h = x @ A.T + c1; e = h @ B.T + c2 - x
        f = (e**2).sum() / (n*d); de = 2*e/(n*d); dh = de @ B
        hist.append(f/opt)
        return f, np.concatenate([(dh.T @ x).ravel(), dh.sum(0), (de.T @ h).ravel(), de.sum(0)])
    w0 = np.concatenate([A.ravel(), c1, B.ravel(), c2])
    r = minimize(fg, w0, jac=True, method="L-BFGS-B", options={"maxiter": iters, "maxcor": 10, "ftol": 0, "gtol": 0})
    first = next((i+1 for i, v in enumerate(hist) if v <= 1.005), None)
    print(label, "evals to 1.005:", first, "final", r.fun/opt, "nit", r.nit, "at evals 100/300:", round(hist[99],3), round(hist[299],3))
run(x0, "raw [0,1]", iters=2000)
run(x0 - x0.mean(0), "centered")
sd = x0.std(0); sd[sd < 1e-8] = 1
run((x0 - x0.mean(0))/sd, "standardized")
run(x0, "raw, A init x10", scaleA=10)
