"""Names shared by the CLI and the tasks, in a module light enough for `featureship --help`."""

from __future__ import annotations

# The options of `featureship predict` a model may accept (it declares which in `predict_inputs`).
PREDICT_FLAGS = {"data": "--data", "text": "--text", "users": "--users", "k": "--k"}
