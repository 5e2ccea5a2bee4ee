"""Commands that call one declared endpoint of a model from the terminal: `recommend`, `similar`.

They are generic: the model's task declares the endpoint (featureship.endpoints.Endpoint); a
model that does not answer it is refused with the endpoints it does answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from featureship.cli._common import KeyEnv, app, bundle_key, print_json, user_errors


def call_endpoint(bundle: Path, name: str, body: dict[str, Any], key: Any = None) -> Any:
    """Validate `body` against the model's `name` endpoint and answer it, as the server would.

    Problems name the command's flags: the body's field `include_seen` is `--include-seen`.
    """
    from pydantic import ValidationError

    from featureship.api import load
    from featureship.endpoints import Limits
    from featureship.errors import SettingsError
    from featureship.serving.handlers import describe_problems

    model = load(bundle, key=key)
    endpoints = {e.name: e for e in type(model).endpoints(model.describe(), Limits())}
    endpoint = endpoints.get(name)
    if endpoint is None:
        raise SettingsError(
            f"{bundle} is a {model.task} model; `{name}` needs a model that answers /{name} "
            f"(this one answers: {', '.join(endpoints)})."
        )
    try:
        request = endpoint.request.model_validate({k: v for k, v in body.items() if v is not None})
    except ValidationError as exc:
        message = describe_problems(list(exc.errors()), None).replace("Invalid request body: ", "")
        for field in body:
            message = message.replace(f"'{field}'", "--" + field.replace("_", "-"))
        raise SettingsError(message[:1].upper() + message[1:]) from None
    method = getattr(model, endpoint.handler)
    if endpoint.batch:
        inputs, outputs = endpoint.batch
        return {outputs: method(getattr(request, inputs))}
    return method(**request.model_dump(exclude_unset=True))


@app.command("recommend")
@user_errors
def recommend(
    bundle: Annotated[Path, typer.Argument(help="Recommender bundle folder.")],
    user: Annotated[str | None, typer.Option("--user", help="A known user's id.")] = None,
    history: Annotated[str | None, typer.Option("--history", help="Comma-separated item ids of an anonymous session.")] = None,
    k: Annotated[int, typer.Option("--k", help="How many items.")] = 10,
    include_seen: Annotated[bool, typer.Option("--include-seen", help="Allow items the user already interacted with.")] = False,
    key_env: KeyEnv = None,
) -> None:
    """Recommend items for a user or a session's history; JSON on stdout."""
    items = [h.strip() for h in history.split(",") if h.strip()] if history is not None else None
    print_json(call_endpoint(bundle, "recommend", {"user": user, "history": items, "k": k,
                                                   "include_seen": include_seen},
                             bundle_key(key_env)))


@app.command("similar")
@user_errors
def similar(
    bundle: Annotated[Path, typer.Argument(help="Recommender bundle folder.")],
    item: Annotated[str, typer.Option("--item", help="The item to find neighbours of.")],
    k: Annotated[int, typer.Option("--k", help="How many items.")] = 10,
    key_env: KeyEnv = None,
) -> None:
    """Items most like one item ("you may also like"); JSON on stdout."""
    print_json(call_endpoint(bundle, "similar", {"item": item, "k": k}, bundle_key(key_env)))


@app.command("ask")
@user_errors
def ask(
    bundle: Annotated[Path, typer.Argument(help="Answer-retrieval bundle folder.")],
    text: Annotated[str, typer.Argument(help="The customer's message.")],
    k: Annotated[int, typer.Option("--k", help="How many answers.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON answer on stdout.")] = False,
    key_env: KeyEnv = None,
) -> None:
    """Find the best standard replies for a message, and say whether to hand off to a person."""
    result = call_endpoint(bundle, "answer", {"query": text, "k": k}, bundle_key(key_env))
    if as_json:
        print_json(result)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for entry in result["results"]:
        table = Table(title=text, header_style="bold")
        for column in ("answer id", "score", "reply"):
            table.add_column(column, justify="right" if column == "score" else "left")
        for answer in entry["answers"]:
            table.add_row(answer["id"], f"{answer['score']:.3f}", answer["answer"])
        console.print(table)
        console.print("[bold yellow]hand off to a person[/] (not confident enough)"
                      if entry["handoff"] else "[bold green]answer with the first reply[/]")
