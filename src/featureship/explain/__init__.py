"""Attributions and their rendering, shared by the tasks' explainers.

- `words`: whole words of a text, and token or n-gram weights merged onto them;
- `linear`: exact per-word contributions of a linear head over TF-IDF features;
- `integrated_gradients`: captum's layer integrated gradients on a transformer's word
  embeddings (the `explain` extra; imported only when used);
- `faithfulness`: ERASER-style deletion scores (comprehensiveness, sufficiency);
- `render`: words shaded by weight, as HTML or on the terminal.
"""

from featureship.explain.words import Word, split_words

__all__ = ["Word", "split_words"]
