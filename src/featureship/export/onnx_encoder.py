"""A text encoder as an ONNX graph (pooling and normalisation inside), run by ONNX Runtime.

`export_encoder` writes the graph (torch.onnx's dynamo exporter: it reproduces the PyTorch
embeddings to ~1e-7; the older TorchScript tracer got the attention mask wrong here) and
optionally quantises it: dynamic int8, per output channel by default (one scale per row of
each weight matrix; per-tensor scales cost more accuracy, see benchmarks/RESULTS.md).
`OnnxTextEncoder` has the interface of `featureship.nn.encoder.TextEncoder`.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from featureship.errors import MissingExtraError
from featureship.nn.encoder import EncoderSource, length_buckets

# quantize option → (per_channel); None = keep fp32
_QUANTIZE = {"int8": True, "int8-per-tensor": False}


def _require(package: str) -> Any:
    from importlib import import_module

    try:
        return import_module(package)
    except ImportError as exc:
        raise MissingExtraError(package, "onnx", "Exporting and serving ONNX models") from exc


def export_encoder(model: Any, tokenizer: Any, target: Path, quantize: str | None) -> None:
    """Write `model` (a Hugging Face encoder) as `target` (.onnx, one file) → unit embeddings."""
    import copy

    import torch

    _require("onnx")
    _require("onnxscript")

    class Pooled(torch.nn.Module):
        def __init__(self, encoder: torch.nn.Module) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)  # (B, H)
            return torch.nn.functional.normalize(pooled, dim=-1)

    net = Pooled(copy.deepcopy(model).to("cpu", torch.float32)).eval()
    sample = tokenizer(["an example text to trace", "short"], padding=True, return_tensors="pt")
    axes = {"batch": 0, "tokens": 1}
    fp32 = target if quantize is None else target.with_suffix(".fp32.onnx")
    with warnings.catch_warnings():  # the exporter's own deprecation and tracing chatter
        warnings.simplefilter("ignore")
        # "torchvision is not installed. Skipping torchvision::nms" etc.: noise for a text model
        logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
        torch.onnx.export(
            net, (sample["input_ids"], sample["attention_mask"]), str(fp32),
            input_names=["input_ids", "attention_mask"], output_names=["sentence_embedding"],
            dynamic_axes={"input_ids": {v: k for k, v in axes.items()},
                          "attention_mask": {v: k for k, v in axes.items()},
                          "sentence_embedding": {0: "batch"}},
            opset_version=18, dynamo=True, external_data=False, verbose=False)
    if quantize is not None:
        quantization = _require("onnxruntime.quantization")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantization.quantize_dynamic(str(fp32), str(target), per_channel=_QUANTIZE[quantize],
                                          weight_type=quantization.QuantType.QInt8)
        fp32.unlink()


ONNX_CHUNK = 16


class OnnxTextEncoder:
    """Texts → mean-pooled, L2-normalised embeddings through an ONNX Runtime session."""

    bf16 = False
    finetuned = False

    def __init__(self, source: EncoderSource, onnx_path: Path, tokenizer: Any, max_length: int,
                 dim: int, quantize: str | None) -> None:
        ort = _require("onnxruntime")
        import torch

        self.source, self.onnx_path, self.tokenizer = source, Path(onnx_path), tokenizer
        self.max_length, self._dim, self.quantize = max_length, dim, quantize
        options = ort.SessionOptions()
        # follow the process's torch thread setting, so a server's per-model split holds
        options.intra_op_num_threads = torch.get_num_threads()
        options.inter_op_num_threads = 1
        # a spinning ORT pool steals the core the event loop needs on a small machine
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(self.onnx_path), options, providers=["CPUExecutionProvider"])

    @property
    def dim(self) -> int:
        return self._dim

    def embed(self, texts: Sequence[str], batch_size: int = 32,
              on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # ORT's int8 kernels ran faster in small, length-sorted chunks on a 2-core Xeon (review
        # texts: 109/s at 8 vs 61/s at 32); 16, since int8's per-chunk activation scales move
        # macro-F1 more the smaller the chunk
        for batch in length_buckets(texts, min(batch_size, ONNX_CHUNK)):
            enc = self.tokenizer([texts[i] for i in batch], padding=True, truncation=True,
                                 max_length=self.max_length, return_tensors="np")
            feeds = {"input_ids": enc["input_ids"].astype(np.int64),
                     "attention_mask": enc["attention_mask"].astype(np.int64)}
            out[batch] = self.session.run(["sentence_embedding"], feeds)[0]
            if on_batch:
                on_batch(len(batch))
        return out
