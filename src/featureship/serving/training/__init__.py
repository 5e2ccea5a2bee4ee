"""`featureship console --workdir DIR`: the server plus training from the browser.

    DIR/uploads/ID/   what the browser uploaded (a table, or a folder of images)
    DIR/runs/ID/      one training run: spec.json, events.jsonl (its progress), log.txt
    DIR/models/NAME/  the bundles: served at start, and each finished run's as it lands

A run is a child process (`python -m featureship.serving.training.job RUN_DIR`) that calls
`featureship.train` and writes its progress as JSON lines; the server streams them to the page
as server-sent events and, when the run succeeds, loads the bundle and serves it at once.
"""

from featureship.serving.training.app import create_console_app

__all__ = ["create_console_app"]
