"""Task-agnostic commands: evaluate, predict, serve, demo. They reach tasks only through the
FittedModel protocol (featureship.tasks.base), never by a task's name."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from featureship.cli._common import (
    BackendOpt,
    KeyEnv,
    RayAddress,
    RedactPii,
    Workers,
    app,
    bundle_key,
    console,
    err_console,
    print_json,
    user_errors,
)


@app.command()
@user_errors
def evaluate(
    bundle: Annotated[Path, typer.Argument(help="Model bundle folder.")],
    data: Annotated[Path, typer.Option("--data", help="Held-out data with the true answers.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
    key_env: KeyEnv = None,
) -> None:
    """Score a trained model on held-out data (never the data it was trained on)."""
    from featureship.api import load
    from featureship.evaluation.tables import metrics_table

    model = load(bundle, key=bundle_key(key_env))
    metrics = model.evaluate(data)
    if as_json:
        print_json(metrics)
        return
    for note in metrics.get("notes", []):
        err_console.print(f"[yellow]note:[/] {note}")
    headline = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
    console.print(metrics_table(f"{model.name} on {data.name}", headline).to_rich())
    for table in model.evaluation_tables(metrics):
        console.print(table.to_rich())


@app.command()
@user_errors
def predict(
    bundle: Annotated[Path, typer.Argument(help="Model bundle folder.")],
    data: Annotated[Path | None, typer.Option("--data", help="Inputs to score: a table (or a folder, for images).")] = None,
    output: Annotated[Path | None, typer.Option("--output", help="CSV to write (every input column kept).")] = None,
    text: Annotated[list[str] | None, typer.Option("--text", help="Text models: a text (repeatable); JSON on stdout.")] = None,
    users: Annotated[str | None, typer.Option("--users", help="Recommenders: 'all', or comma-separated user ids.")] = None,
    k: Annotated[int | None, typer.Option("--k", help="Recommenders: items per user (default 10).")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing --output file.")] = False,
    key_env: KeyEnv = None,
    redact_pii: RedactPii = False,
    backend: BackendOpt = "local",
    ray_address: RayAddress = None,
    workers: Workers = None,
) -> None:
    """Predict with a trained model: a table to a CSV (every input column kept), or JSON.

    With --backend ray, --data (a file, a folder of files, or of images) is streamed through
    Ray Data and --output is a new folder of Parquet shards (input columns + row_id).
    """
    from featureship.api import load
    from featureship.artifacts import refuse_output_over_input
    from featureship.backends import as_backend
    from featureship.errors import SettingsError
    from featureship.tasks.base import refuse_options

    chosen = as_backend(backend, ray_address, workers)
    if chosen.is_ray:
        from featureship.backends.ray_predict import predict_on_ray
        from featureship.progress import Reporter

        if data is None or output is None or text or users or k is not None:
            raise SettingsError("--backend ray scores files: give --data (a file or folder) and --output "
                                "(a new folder for Parquet shards); --text, --users and --k run locally.")
        if overwrite:
            raise SettingsError("--backend ray never replaces an --output folder; remove it or pick a new name.")
        predict_on_ray(bundle, data, output, chosen, Reporter(), key=bundle_key(key_env), redact_pii=redact_pii)
        return

    model = load(bundle, key=bundle_key(key_env))
    if redact_pii:  # a bundle trained with --redact-pii redacts anyway (its manifest says so)
        model.redact_pii = True
    given: dict[str, Any] = {"data": data, "text": text or None, "users": users, "k": k}
    refuse_options(model, given)
    refuse_output_over_input(output, data)
    if output is not None and output.exists() and not overwrite:
        raise SettingsError(f"--output {output} exists; pass --overwrite to replace it, or pick a new name.")
    result = model.predict_cli(**{key: value for key, value in given.items() if value is not None})
    if isinstance(result, list):
        print_json({"predictions": result})
        return
    for note in result.attrs.get("notes", []):  # e.g. inputs that could not be read
        err_console.print(f"[yellow]note:[/] {note}")
    if output is None:
        raise SettingsError("Give --output OUT.csv to write the predictions.")
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    result.to_csv(tmp, index=False)
    tmp.replace(output)
    err_console.print(f"wrote {len(result):,} rows to {output}")


@app.command()
@user_errors
def serve(
    bundles: Annotated[list[Path], typer.Argument(help="One or more model bundle folders.")],
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    max_batch: Annotated[int, typer.Option("--max-batch", help="Most inputs per request (413 above).")] = 256,
    max_text_chars: Annotated[int, typer.Option("--max-text-chars", help="Longest text accepted (413 above).")] = 20_000,
    max_queue: Annotated[int, typer.Option("--max-queue", help="Requests that may wait for one model (503 above).")] = 64,
    max_image_bytes: Annotated[int, typer.Option("--max-image-bytes", help="Largest image accepted, in bytes (413 above).")] = 10_000_000,
    max_batch_size: Annotated[int, typer.Option("--max-batch-size", help="Most inputs one forward pass gathers from concurrent requests.")] = 32,
    max_latency_ms: Annotated[int, typer.Option("--max-latency-ms", help="Longest a request waits for others to join its batch (only under load).")] = 5,
    api_key_env: Annotated[str | None, typer.Option("--api-key-env", help="Environment variable with the API key(s) (comma-separated) required on /v1 and /metrics.")] = None,
    graceful_timeout: Annotated[int, typer.Option("--graceful-timeout", help="Seconds in-flight requests get to finish on SIGTERM.")] = 30,
    torch_threads: Annotated[int, typer.Option("--torch-threads", help="torch threads per model copy (0: one core for HTTP, the rest split between copies).")] = 0,
    replicas: Annotated[int, typer.Option("--replicas", help="Copies of each model, each with its own worker thread (0: two when each model can have two cores, else one).")] = 0,
    key_env: KeyEnv = None,
    redact_pii: RedactPii = False,
) -> None:
    """Serve models over a REST API (OpenAPI docs at /docs); each model is named by its folder."""
    import uvicorn

    from featureship.serving.app import ServerSettings, create_app
    from featureship.serving.auth import read_api_keys

    keys = read_api_keys(api_key_env) if api_key_env is not None else ()
    settings = ServerSettings(max_batch=max_batch, max_text_chars=max_text_chars, max_queue=max_queue,
                              max_batch_size=max_batch_size, max_latency_ms=max_latency_ms,
                              torch_threads=torch_threads, replicas=replicas, api_keys=keys,
                              max_image_bytes=max_image_bytes,
                              bundle_key=bundle_key(key_env), redact_pii=redact_pii)
    api = create_app([Path(b) for b in bundles], settings)
    typer.echo(f"featureship: the console is at http://{host}:{port}/ and the API docs at "
               f"http://{host}:{port}/docs", err=True)
    uvicorn.run(api, host=host, port=port, log_level="info", timeout_graceful_shutdown=graceful_timeout)


@app.command("console")
@user_errors
def console_command(
    workdir: Annotated[Path, typer.Option("--workdir", help="Where uploads, runs and trained bundles go (created if missing); bundles already in DIR/models are served.")] = Path("featureship-console"),
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    api_key_env: Annotated[str | None, typer.Option("--api-key-env", help="Environment variable with the API key(s) (comma-separated) required on /v1 and /metrics.")] = None,
    max_upload_mb: Annotated[int, typer.Option("--max-upload-mb", min=1, help="Largest upload (a table or a folder of images), in MB.")] = 200,
    torch_threads: Annotated[int, typer.Option("--torch-threads", help="torch threads per model (0: one core for HTTP, the rest split between models).")] = 0,
) -> None:
    """The browser console with training: upload data, train, watch it live, try and serve the model."""
    import uvicorn

    from featureship.serving.app import ServerSettings
    from featureship.serving.auth import read_api_keys
    from featureship.serving.training import create_console_app

    keys = read_api_keys(api_key_env) if api_key_env is not None else ()
    api = create_console_app(workdir, ServerSettings(api_keys=keys, torch_threads=torch_threads),
                             max_upload_mb=max_upload_mb)
    typer.echo(f"featureship console: http://{host}:{port}/  (workdir {workdir.resolve()})", err=True)
    uvicorn.run(api, host=host, port=port, log_level="info")


@app.command()
@user_errors
def demo(
    output: Annotated[Path, typer.Option(help="Where the demo bundle goes (replaced if it is one).")] = Path("featureship-demo"),
    task: Annotated[str | None, typer.Option("--task", help="Which task's demo (featureship.demo.TASK_DEMOS; default: the first there); an unknown one is refused with the list.")] = None,
) -> None:
    """Train a customer-service model on the bundled banking77 data, offline, and show it."""
    from featureship.demo import run_task_demo

    run_task_demo(task, output)
