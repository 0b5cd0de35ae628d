#!/usr/bin/env python3
"""Reference model server for the `bottleneck serve` load benchmark (issue 13).

The way people typically serve a PyTorch autoencoder today: FastAPI + uvicorn,
one worker, one request = one forward pass (no batching across requests).
Deliberately plain; it is the baseline, not something to optimise.

  python serve_reference.py --host 127.0.0.1 --port 8000

POST /v1/models/{name}/score  {"rows": [[784 floats in [0,1]], ...]}
  -> {"model", "score": "mse", "scores": [...], "flags": [...], "threshold"}
GET  /readyz                  -> 200 once the models are built
"""
import argparse
import os
import sys
from typing import List

import torch
import torch.nn as nn
import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bench import build  # noqa: E402  (same model definitions as the training benchmark)

THRESHOLD = 0.02

torch.set_num_threads(2)
torch.manual_seed(0)  # default init; speed does not depend on the weights
MODELS = {
    "dense": build("dense", torch, nn).eval(),
    "conv": build("conv_seed", torch, nn).eval(),  # takes [N,784], unflattens to [N,1,28,28] itself
}

app = FastAPI()


class ScoreRequest(BaseModel):
    rows: List[List[float]]


@app.get("/readyz")
def readyz():
    return {"status": "ready"}


@app.post("/v1/models/{name}/score")
def score(name: str, req: ScoreRequest):
    model = MODELS.get(name)
    if model is None:
        raise HTTPException(status_code=404, detail=f"unknown model {name!r}")
    if not req.rows or any(len(r) != 784 for r in req.rows):
        raise HTTPException(status_code=422, detail="rows must be a non-empty list of 784-value rows")
    x = torch.tensor(req.rows, dtype=torch.float32)
    with torch.no_grad():
        scores = ((model(x) - x) ** 2).mean(dim=1).tolist()
    return {"model": name, "score": "mse", "scores": scores,
            "flags": [s > THRESHOLD for s in scores], "threshold": THRESHOLD}


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    a = p.parse_args()
    uvicorn.run(app, host=a.host, port=a.port, workers=1, log_level="warning")
