"""`featureship explain DIR ...`: why a model answered as it did, for any task.

It takes the input flags of `featureship predict` (the parameters of `predict` named in
`PREDICT_FLAGS` are copied, so an input flag a task adds there is here too) and hands them to
the model's `explain_cli`. predict's other options (output handling, and any option that is
not an input) are not copied: each means something of its own and is added here by hand. Output: shaded words on the terminal where the explanations have word weights
(JSON otherwise), one JSON document with --json, or a self-contained HTML page (or JSON file)
with --output.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from featureship.cli._common import (
    KeyEnv,
    app,
    bundle_key,
    console,
    err_console,
    print_json,
    user_errors,
)
from featureship.cli.commands import predict


def _explain(bundle: Path, output: Path | None = None, as_json: bool = False, overwrite: bool = False,
             key_env: str | None = None, **inputs: Any) -> None:
    from featureship.api import load
    from featureship.errors import SettingsError
    from featureship.explain.render import has_words, rich_words
    from featureship.tasks.base import refuse_options

    if output is not None and output.suffix.lower() not in (".html", ".htm", ".json"):
        raise SettingsError(f"--output {output}: write explanations to an .html page or a .json file.")
    if output is not None and output.exists() and not overwrite:
        raise SettingsError(f"--output {output} exists; pass --overwrite to replace it, or pick a new name.")
    model = load(bundle, key=bundle_key(key_env))
    given = {k: (v or None) if isinstance(v, list) else v for k, v in inputs.items()}
    refuse_options(model, given)
    result = model.explain_cli(**{k: v for k, v in given.items() if v is not None})
    records = result.to_dict("records") if hasattr(result, "to_dict") else list(result)
    if output is not None:
        output = output.resolve()
        output.parent.mkdir(parents=True, exist_ok=True)
        tmp = output.with_name(output.name + ".tmp")
        if output.suffix.lower() == ".json":
            tmp.write_text(json.dumps({"explanations": records}, indent=2, ensure_ascii=False,
                                      default=str) + "\n", encoding="utf-8")
        else:
            tmp.write_text(model.explanation_html(records), encoding="utf-8")
        tmp.replace(output)
        err_console.print(f"wrote {len(records):,} explanations to {output}")
        return
    if as_json or not all(isinstance(r, dict) and has_words(r) for r in records):
        print_json({"explanations": records})
        return
    for record in records:
        head = f"[bold]{record.get('label', '')}[/]"
        if isinstance(record.get("score"), (int, float)):
            head += f"  p = {record['score']:.3f}"
        if "row" in record:
            head += f"  (row {record['row']})"
        console.print(head, highlight=False)
        console.print(rich_words(record))
        console.print()


def _signature() -> inspect.Signature:
    own = inspect.signature(_explain)
    bundle = own.parameters["bundle"].replace(
        annotation=Annotated[Path, typer.Argument(help="Model bundle folder.")])
    from featureship.flags import PREDICT_FLAGS

    inputs = [p for name, p in inspect.signature(predict, eval_str=True).parameters.items()
              if name in PREDICT_FLAGS]
    extra = [
        inspect.Parameter("output", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
            Path | None, typer.Option("--output", help="Write an HTML page (.html) or a JSON file (.json).")]),
        inspect.Parameter("as_json", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Annotated[
            bool, typer.Option("--json", help="Print one JSON document on stdout.")]),
        inspect.Parameter("overwrite", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Annotated[
            bool, typer.Option("--overwrite", help="Replace an existing --output file.")]),
        inspect.Parameter("key_env", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=KeyEnv),
    ]
    params = [bundle] + [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in inputs] + extra
    return inspect.Signature(params)


def explain(**kwargs: Any) -> None:
    """Explain a model's answers: which words (or history items, features, pixels) drove them."""
    _explain(**kwargs)


explain.__signature__ = _signature()  # type: ignore[attr-defined]
explain.__annotations__ = {p.name: p.annotation for p in explain.__signature__.parameters.values()}
app.command("explain")(user_errors(explain))
