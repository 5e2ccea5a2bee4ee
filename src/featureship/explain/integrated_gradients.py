"""Layer integrated gradients (captum) on a transformer's word-embedding layer.

The explained quantity is a scalar per text and class, computed from the word embeddings by
a function the caller gives (`score`): for our heads, the predicted class's centred logit.
The baseline keeps the special tokens ([CLS], [SEP]) and replaces every other token by the
padding token, with the same attention mask: the text "with its words removed". Attributions
on a token sum over the embedding dimensions; completeness holds up to the integral's
numerical error, which captum returns as the convergence delta.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from featureship.errors import FeatureshipError, MissingExtraError

# Gauss-Legendre points on the path; completeness error is ~1e-3 of the score change at 32.
N_STEPS = 32


@dataclass
class TokenAttributions:
    input_ids: list[int]
    offsets: list[tuple[int, int]]  # character span of each token (0, 0) for special tokens
    weights: np.ndarray  # (tokens,)
    score: float  # f(x)
    baseline_score: float  # f(baseline)
    delta: float  # sum(weights) - (f(x) - f(baseline)): the integral's error


def _captum():
    try:
        from captum.attr import LayerIntegratedGradients
    except ImportError as exc:
        raise MissingExtraError("captum", "explain", "Explaining encoder-based text models") from exc
    return LayerIntegratedGradients


def token_attributions(
    tokenizer, model: torch.nn.Module, texts: Sequence[str], targets: Sequence[int], max_length: int,
    score: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    device: torch.device, n_steps: int = N_STEPS, batch_size: int = 4,
) -> list[TokenAttributions]:
    """Integrated gradients of ``score(hidden, attention_mask, rows)[:, target]`` per token.

    `score` maps the encoder's last hidden states (B, T, H) and the attention mask (B, T) to
    per-class scores (B, C). Terms that do not depend on the words' embeddings (a bias, the
    TF-IDF half of a hybrid head) may be left out: they cancel in f(x) - f(baseline).
    """
    layer_ig = _captum()
    if not getattr(tokenizer, "is_fast", False):  # words are found from the fast tokenizer's offsets
        raise FeatureshipError(
            f"Explaining needs the encoder's fast (Rust) tokenizer to map tokens back to words; "
            f"{type(tokenizer).__name__} has none. Use an encoder folder with a tokenizer.json.")
    embeddings = model.get_input_embeddings()
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    out: list[TokenAttributions] = []
    model.eval()
    for start in range(0, len(texts), batch_size):
        chunk = list(texts[start : start + batch_size])
        enc = tokenizer(chunk, padding=True, truncation=True, max_length=max_length,
                        return_offsets_mapping=True, return_special_tokens_mask=True,
                        return_tensors="pt")
        ids = enc["input_ids"].to(device)
        mask = enc["attention_mask"].to(device)
        # the tokens the tokenizer adds ([CLS], [SEP]) stay; [UNK] is text and is explained
        keep = enc["special_tokens_mask"].to(device).bool()
        baseline = torch.where(keep | (mask == 0), ids, torch.full_like(ids, pad_id))

        def forward(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return score(hidden.float(), attention_mask)  # (B, C)

        target = [int(t) for t in targets[start : start + len(chunk)]]
        explainer = layer_ig(forward, embeddings)
        attributions, delta = explainer.attribute(
            ids, baselines=baseline, additional_forward_args=(mask,), target=target,
            n_steps=n_steps, internal_batch_size=n_steps * len(chunk),
            return_convergence_delta=True)
        with torch.no_grad():
            picked = torch.tensor(target, device=device)[:, None]
            at_x = forward(ids, mask).gather(1, picked)[:, 0]
            at_base = forward(baseline, mask).gather(1, picked)[:, 0]
        per_token = attributions.sum(-1).detach().cpu().double().numpy()  # (B, T)
        for j in range(len(chunk)):
            n = int(mask[j].sum())
            out.append(TokenAttributions(
                input_ids=ids[j, :n].tolist(), offsets=[tuple(o) for o in enc["offset_mapping"][j, :n].tolist()],
                weights=per_token[j, :n], score=float(at_x[j]), baseline_score=float(at_base[j]),
                delta=float(delta[j])))
    return out
