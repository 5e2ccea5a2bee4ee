"""Readers, schema checks and splits: everything between a user's file and a task."""

from featureship.data.readers import Table, read_table
from featureship.data.splits import stratified_split

__all__ = ["Table", "read_table", "stratified_split"]
