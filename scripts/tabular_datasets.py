#!/usr/bin/env python3
"""Tabular anomaly-detection fixtures and their baseline figures.

Writes Tests/Fixtures/tabular/NAME/{train,test}.csv for six datasets, each with a fixed split:
train.csv holds normal rows only (60% of them, seeded), test.csv the other normal rows and every
anomaly; both have an `anomaly` column (1 = anomaly). Then scores each test set with
scikit-learn's IsolationForest (defaults, random_state=0) and with PCA reconstruction error
(standardised on the training rows, components keeping 90% of the variance: PCA's own default
keeps every component and reconstructs everything exactly), and writes their AUROCs to
Tests/Fixtures/tabular/baselines.json.

Licences: the first four ship inside scikit-learn's wheel and come from the UCI repository under
CC BY 4.0 (breast_cancer: Wolberg, Street, Mangasarian, Breast Cancer Wisconsin (Diagnostic);
wine: Aeberhard and Forina, Wine; digits: Alpaydin and Kaynak, Optical Recognition of Handwritten
Digits; iris: Fisher, Iris). The last two are generated here (public domain).

Usage: python scripts/tabular_datasets.py   (scikit-learn and numpy; a venv: python -m venv v &&
v/bin/pip install scikit-learn)
"""
import json
import os

import numpy as np
from sklearn import datasets
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "tabular")
TRAIN_FRACTION = 0.6


def manifold(rng):
    """Normal rows on a curved 3-dimensional surface in 16 dimensions plus noise; anomalies are
    normal rows pushed off it by a random direction (same marginal ranges, so one feature alone
    does not give them away)."""
    def surface(n):
        t = rng.uniform(-1, 1, size=(n, 3))
        basis = np.stack([np.sin(np.pi * t[:, 0]), np.cos(np.pi * t[:, 1]), t[:, 2] ** 2, t[:, 0] * t[:, 1],
                          t[:, 1] * t[:, 2], np.sin(2 * t[:, 2]), t[:, 0], t[:, 1]], axis=1)
        mix = np.random.default_rng(7).normal(size=(basis.shape[1], 16))
        return basis @ mix + 0.05 * rng.normal(size=(n, 16))
    normal = surface(1000)
    off = surface(100) + 0.8 * rng.normal(size=(100, 16))
    x = np.vstack([normal, off])
    y = np.r_[np.zeros(1000), np.ones(100)]
    return x, y, [f"f{i}" for i in range(16)]


def gaussian_mixture(rng):
    """Normal rows from three correlated Gaussian clusters in 8 dimensions; anomalies from a
    broad Gaussian covering all three."""
    centers = rng.normal(scale=3, size=(3, 8))
    covs = [np.cov(rng.normal(size=(8, 20))) for _ in range(3)]
    normal = np.vstack([rng.multivariate_normal(c, s, size=300) for c, s in zip(centers, covs)])
    anomalies = rng.normal(scale=4, size=(60, 8))
    return np.vstack([normal, anomalies]), np.r_[np.zeros(900), np.ones(60)], [f"x{i}" for i in range(8)]


def sklearn_set(loader, normal_classes):
    b = loader()
    y = (~np.isin(b.target, normal_classes)).astype(float)
    names = [str(n).replace(" ", "_").replace(",", "") for n in b.feature_names]
    return b.data.astype(float), y, names


def build():
    rng = np.random.default_rng(0)
    return {
        # benign normal, malignant anomalies
        "breast_cancer": sklearn_set(datasets.load_breast_cancer, [1]),
        # classes 1 and 2 normal, class 0 anomalies (as ODDS's wine set)
        "wine": sklearn_set(datasets.load_wine, [1, 2]),
        # digits 1-9 normal, 0 anomalies (as ODDS's optdigits set)
        "digits": sklearn_set(datasets.load_digits, list(range(1, 10))),
        # setosa and versicolor normal, virginica anomalies
        "iris": sklearn_set(datasets.load_iris, [0, 1]),
        "manifold": manifold(rng),
        "gaussian_mixture": gaussian_mixture(rng),
    }


def write_csv(path, names, x, y):
    with open(path, "w") as f:
        f.write(",".join(names + ["anomaly"]) + "\n")
        for row, label in zip(x, y):
            f.write(",".join(f"{v:.6g}" for v in row) + f",{int(label)}\n")


def main():
    figures = {}
    for name, (x, y, names) in build().items():
        rng = np.random.default_rng(1)
        normal = np.flatnonzero(y == 0)
        rng.shuffle(normal)
        cut = int(round(TRAIN_FRACTION * len(normal)))
        train = np.sort(normal[:cut])
        test = np.sort(np.r_[normal[cut:], np.flatnonzero(y == 1)])
        folder = os.path.join(ROOT, name)
        os.makedirs(folder, exist_ok=True)
        write_csv(os.path.join(folder, "train.csv"), names, x[train], y[train])
        write_csv(os.path.join(folder, "test.csv"), names, x[test], y[test])
        # The baselines read what was written (rounded to 6 digits), as Bottleneck does.
        xtr = np.loadtxt(os.path.join(folder, "train.csv"), delimiter=",", skiprows=1)[:, :-1]
        te = np.loadtxt(os.path.join(folder, "test.csv"), delimiter=",", skiprows=1)
        xte, yte = te[:, :-1], te[:, -1]
        forest = IsolationForest(random_state=0).fit(xtr)
        iforest = roc_auc_score(yte, -forest.score_samples(xte))
        scaler = StandardScaler().fit(xtr)
        pca = PCA(n_components=0.9, svd_solver="full").fit(scaler.transform(xtr))
        z = scaler.transform(xte)
        error = ((z - pca.inverse_transform(pca.transform(z))) ** 2).mean(axis=1)
        figures[name] = {"features": x.shape[1], "train": len(train), "test": len(test), "test_anomalies": int(yte.sum()),
                         "isolation_forest_auroc": round(float(iforest), 4), "pca_auroc": round(float(roc_auc_score(yte, error)), 4),
                         "pca_components": int(pca.n_components_)}
        print(name, figures[name])
    import sklearn
    out = {"scikit_learn": sklearn.__version__, "datasets": figures}
    with open(os.path.join(ROOT, "baselines.json"), "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")




if __name__ == "__main__":
    main()
