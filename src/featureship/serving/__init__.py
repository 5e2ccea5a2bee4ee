"""The REST server: `create_app(bundle_dirs, settings)` and its `ServerSettings`.

Run it with `featureship serve BUNDLE...`; see `featureship.serving.app` for the endpoints.
"""

from featureship.serving.app import create_app
from featureship.serving.settings import ServerSettings

__all__ = ["ServerSettings", "create_app"]
