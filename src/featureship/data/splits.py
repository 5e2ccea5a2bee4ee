"""Seeded, stratified train/validation splits."""

from __future__ import annotations

import numpy as np
import pandas as pd


def stratified_split(
    frame: pd.DataFrame, label_column: str, fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cut `fraction` of rows into a validation set, keeping class proportions; reproducible."""
    labels = frame[label_column].to_numpy()
    n_classes = len(np.unique(labels))
    n_valid = max(int(round(len(frame) * fraction)), n_classes)
    from sklearn.model_selection import train_test_split  # lazily: keeps --help fast

    train_idx, valid_idx = train_test_split(
        np.arange(len(frame)), test_size=n_valid, stratify=labels, random_state=seed
    )
    return frame.iloc[np.sort(train_idx)], frame.iloc[np.sort(valid_idx)]
