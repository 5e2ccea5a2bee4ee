"""featureship: turn your own data into a served AI feature.

data → train → evaluate → explain → serve, behind one Task protocol.

    >>> import featureship
    >>> model = featureship.train("text-classification", data="tickets.csv",
    ...                         text_column="text", label_column="intent", output="intent-model")
    >>> model.predict(["my card has not arrived"])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["train", "load", "save", "Model", "FeatureshipError", "__version__"]

if TYPE_CHECKING:
    from featureship.api import Model, load, save, train
    from featureship.errors import FeatureshipError


def __getattr__(name: str) -> Any:
    # Lazy: `import featureship` and `featureship --help` must not pay for torch.
    if name in ("train", "load", "save", "Model"):
        from featureship import api

        return getattr(api, name)
    if name == "FeatureshipError":
        from featureship.errors import FeatureshipError

        return FeatureshipError
    raise AttributeError(f"module 'featureship' has no attribute {name!r}")
