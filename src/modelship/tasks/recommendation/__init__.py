"""Recommendation: "you may also like" for a user, "what next" for a session, "more like this".

    >>> model = modelship.train("recommendation", data="ratings.csv", user_column="user_id",
    ...                         item_column="movie_id", time_column="timestamp", output="recs")
    >>> model.recommend(user="196", k=5)["items"][0]["item"]
"""

from modelship.tasks.recommendation.fitted import RecommendationModel, UnknownItemError
from modelship.tasks.recommendation.settings import RecommendationSettings
from modelship.tasks.recommendation.task import RecommendationTask

__all__ = ["RecommendationModel", "RecommendationSettings", "RecommendationTask", "UnknownItemError"]
