"""Image classification: photos, scans and product images sorted into categories."""

from featureship.tasks.image_classification.model import ImageClassifier
from featureship.tasks.image_classification.settings import ImageClassificationSettings
from featureship.tasks.image_classification.task import ImageClassificationTask

__all__ = ["ImageClassificationTask", "ImageClassificationSettings", "ImageClassifier"]
