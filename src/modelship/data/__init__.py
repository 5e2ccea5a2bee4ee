"""Readers, schema checks and splits: everything between a user's file and a task."""

from modelship.data.readers import Table, read_table
from modelship.data.splits import stratified_split

__all__ = ["Table", "read_table", "stratified_split"]
