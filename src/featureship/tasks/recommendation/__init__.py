"""Recommendation: "you may also like" for a user, "what next" for a session, "more like this".

    >>> model = featureship.train("recommendation", data="ratings.csv", user_column="user_id",
    ...                         item_column="movie_id", time_column="timestamp", output="recs")
    >>> model.recommend(user="196", k=5)["items"][0]["item"]
"""

from featureship.tasks.recommendation.fitted import RecommendationModel, UnknownItemError
from featureship.tasks.recommendation.settings import RecommendationSettings
from featureship.tasks.recommendation.task import RecommendationTask

__all__ = ["RecommendationModel", "RecommendationSettings", "RecommendationTask", "UnknownItemError"]
