"""Text classification on pretrained transformers: intents, sentiment, topics."""

from modelship.tasks.text_classification.model import TextClassifier
from modelship.tasks.text_classification.settings import TextClassificationSettings
from modelship.tasks.text_classification.task import TextClassificationTask

__all__ = ["TextClassificationTask", "TextClassificationSettings", "TextClassifier"]
