"""Settings: typed pydantic models per task (defined next to each task), YAML/JSON in, validated.

Each task declares its settings as a pydantic model; this module turns user input (keyword
arguments, CLI options, a YAML/JSON file) into one, with errors naming the bad field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from featureship.errors import SettingsError

S = TypeVar("S", bound=BaseModel)


class TaskSettings(BaseModel):
    """Base for every task's settings: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=())

    seed: int = 0


def build_settings(cls: type[S], values: dict[str, Any], source: str = "settings") -> S:
    """Validate `values` into `cls`, turning pydantic's errors into one readable message."""
    values = {k: v for k, v in values.items() if v is not None}
    try:
        return cls(**values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "settings"
            if err["type"] == "extra_forbidden":
                allowed = ", ".join(sorted(cls.model_fields))
                problems.append(f"'{where}' is not a setting of this task (allowed: {allowed})")
            else:
                problems.append(f"'{where}': {err['msg']} (got {err.get('input')!r})")
        raise SettingsError(f"Invalid {source}: " + "; ".join(problems)) from None


def load_settings_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON settings file into a dict (validated later by `build_settings`)."""
    path = Path(path)
    if not path.is_file():
        raise SettingsError(f"Settings file {path} not found.")
    text = path.read_text()
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # yaml and json raise different types; both are user mistakes
        raise SettingsError(f"Settings file {path} cannot be parsed: {exc}") from exc
    if not isinstance(data, dict):
        raise SettingsError(f"Settings file {path} must hold a mapping of setting: value.")
    return data
