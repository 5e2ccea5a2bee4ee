"""Answer retrieval: find the standard reply for a customer's message, or hand off to a person."""

from featureship.tasks.answer_retrieval.fitted import AnswerRetrievalModel
from featureship.tasks.answer_retrieval.task import AnswerRetrievalTask

__all__ = ["AnswerRetrievalModel", "AnswerRetrievalTask"]
