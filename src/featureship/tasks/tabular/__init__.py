"""Tabular classification and regression: typed columns → linear baseline and LightGBM."""

from featureship.tasks.tabular.fitted import TabularModel
from featureship.tasks.tabular.settings import TabularSettings
from featureship.tasks.tabular.task import TabularTask

__all__ = ["TabularModel", "TabularSettings", "TabularTask"]
