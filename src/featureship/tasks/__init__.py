"""Registry of task names → implementations, imported lazily so `--help` stays fast."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from featureship.errors import SettingsError

if TYPE_CHECKING:
    from featureship.tasks.base import Task

_REGISTRY = {
    "text-classification": "featureship.tasks.text_classification:TextClassificationTask",
    "recommendation": "featureship.tasks.recommendation:RecommendationTask",
    "tabular": "featureship.tasks.tabular:TabularTask",
    "image-classification": "featureship.tasks.image_classification:ImageClassificationTask",
    "answer-retrieval": "featureship.tasks.answer_retrieval:AnswerRetrievalTask",
}
TASK_NAMES = tuple(_REGISTRY)


def get_task(name: str) -> Task:
    if name not in _REGISTRY:
        raise SettingsError(f"Unknown task '{name}'. Known tasks: {', '.join(TASK_NAMES)}.")
    module, _, attr = _REGISTRY[name].partition(":")
    return getattr(import_module(module), attr)()
