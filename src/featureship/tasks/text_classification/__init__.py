"""Text classification on pretrained transformers: intents, sentiment, topics."""

from featureship.tasks.text_classification.model import TextClassifier
from featureship.tasks.text_classification.settings import TextClassificationSettings
from featureship.tasks.text_classification.task import TextClassificationTask

__all__ = ["TextClassificationTask", "TextClassificationSettings", "TextClassifier"]
