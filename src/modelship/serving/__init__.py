"""The REST server: `create_app(bundle_dirs, settings)` and its `ServerSettings`.

Run it with `modelship serve BUNDLE...`; see `modelship.serving.app` for the endpoints.
"""

from modelship.serving.app import create_app
from modelship.serving.settings import ServerSettings

__all__ = ["ServerSettings", "create_app"]
