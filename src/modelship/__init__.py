"""modelship: turn your own data into a served AI feature.

data → train → evaluate → explain → serve, behind one Task protocol.

    >>> import modelship
    >>> model = modelship.train("text-classification", data="tickets.csv",
    ...                         text_column="text", label_column="intent", output="intent-model")
    >>> model.predict(["my card has not arrived"])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["train", "load", "Model", "ModelshipError", "__version__"]

if TYPE_CHECKING:
    from modelship.api import Model, load, train
    from modelship.errors import ModelshipError


def __getattr__(name: str) -> Any:
    # Lazy: `import modelship` and `modelship --help` must not pay for torch.
    if name in ("train", "load", "Model"):
        from modelship import api

        return getattr(api, name)
    if name == "ModelshipError":
        from modelship.errors import ModelshipError

        return ModelshipError
    raise AttributeError(f"module 'modelship' has no attribute {name!r}")
