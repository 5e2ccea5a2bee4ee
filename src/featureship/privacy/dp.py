"""Differentially private training of a linear head on fixed features: DP-SGD through Opacus.

    weight, bias, report = dp_linear_head(x, y, n_classes, epsilon=8.0, delta=1e-5, ...)

Opacus clips each example's gradient to `max_grad_norm`, adds Gaussian noise calibrated by
`make_private_with_epsilon` so that the whole run (Poisson-sampled batches, `epochs` passes)
spends at most `epsilon` at `delta` (its PRV accountant), and reports the ε actually spent.
The guarantee is about the head's parameters with respect to adding or removing one training
example; what else a task releases is the task's to say in `covers`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from featureship.errors import MissingExtraError
from featureship.progress import Reporter


def default_delta(n: int) -> float:
    """The smaller of 1e-5 and 1/(10·n): well below 1/n, so no one example is likely exposed."""
    return min(1e-5, 1.0 / (10 * max(n, 1)))


def dp_linear_head(x: np.ndarray, y: np.ndarray, n_classes: int, epsilon: float, delta: float,
                   max_grad_norm: float, epochs: int, batch_size: int, learning_rate: float,
                   seed: int, progress: Reporter) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """(weight (C, D), bias (C,), accounting) of a softmax head trained with DP-SGD on (x, y)."""
    try:
        from opacus import PrivacyEngine
    except ImportError:
        raise MissingExtraError("opacus", "dp", "--dp-epsilon") from None
    import torch

    torch.manual_seed(seed)
    n, dim = x.shape
    features = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    labels = torch.from_numpy(np.asarray(y, dtype=np.int64))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(features, labels),
                                         batch_size=min(batch_size, n), shuffle=True,
                                         generator=torch.Generator().manual_seed(seed))
    head = torch.nn.Linear(dim, n_classes)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    optimizer = torch.optim.SGD(head.parameters(), lr=learning_rate, momentum=0.9)
    with warnings.catch_warnings():
        # Opacus warns that secure_mode (a cryptographic RNG for the noise, torchcsprng) is off;
        # docs/privacy.md says what that means. Its other warnings concern hooks we do not use.
        warnings.simplefilter("ignore")
        engine = PrivacyEngine(accountant="prv", secure_mode=False)
        head, optimizer, loader = engine.make_private_with_epsilon(
            module=head, optimizer=optimizer, data_loader=loader, target_epsilon=epsilon,
            target_delta=delta, epochs=epochs, max_grad_norm=max_grad_norm)
        loss_fn = torch.nn.CrossEntropyLoss()
        with progress.step(f"DP-SGD head (ε ≤ {epsilon:g}, δ = {delta:.2g})", total=epochs) as step:
            for _ in range(epochs):
                for batch_x, batch_y in loader:
                    if len(batch_y) == 0:  # Poisson sampling can draw an empty batch
                        continue
                    optimizer.zero_grad()
                    loss_fn(head(batch_x), batch_y).backward()
                    optimizer.step()
                step.advance()
        spent = float(engine.get_epsilon(delta))
    module = head._module if hasattr(head, "_module") else head
    weight = module.weight.detach().numpy().astype(np.float32).copy()
    bias = module.bias.detach().numpy().astype(np.float32).copy()
    present = np.zeros(n_classes, dtype=bool)
    present[np.unique(labels.numpy())] = True
    report = {"mechanism": "dp-sgd", "epsilon": round(spent, 4), "epsilon_target": epsilon,
              "delta": delta, "max_grad_norm": max_grad_norm,
              "noise_multiplier": round(float(optimizer.noise_multiplier), 4),
              "epochs": epochs, "expected_batch_size": min(batch_size, n),
              "sample_rate": round(min(batch_size, n) / n, 6), "accountant": "prv (Opacus)",
              "learning_rate": learning_rate, "training_examples": int(n)}
    return weight, bias, report
