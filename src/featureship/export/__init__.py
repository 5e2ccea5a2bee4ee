"""`featureship export`: a bundle that runs on another runtime (ONNX Runtime), optionally int8.

    export_bundle("models/intents", "models/intents-int8", fmt="onnx", quantize="int8",
                  data="holdout.csv", max_drop=0.5)

The new bundle is scored against its source on held-out labelled data and refused when it
loses more than `max_drop` points of macro-F1.
"""

from featureship.export.bundle import QUANTIZE_CHOICES, export_bundle

__all__ = ["QUANTIZE_CHOICES", "export_bundle"]
