"""`featureship kb add|update DIR --knowledge-base F ...`: change a bundle's knowledge base
without retraining. Only new or changed answers are embedded; the bundle is rewritten
atomically. Works for any model that offers `update_knowledge_base`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from featureship.cli._common import app, print_json, user_errors

kb_app = typer.Typer(help="Add or change answers of a bundle's knowledge base (no retraining).",
                     no_args_is_help=True)
app.add_typer(kb_app, name="kb")


def _change(bundle: Path, knowledge_base: Path, id_column: str | None, answer_column: str | None,
            title_column: str | None, how: str) -> None:
    from featureship.api import load, save
    from featureship.artifacts import output_lock
    from featureship.errors import SettingsError

    with output_lock(bundle):
        model = load(bundle)
        update = getattr(model, "update_knowledge_base", None)
        if update is None:
            raise SettingsError(f"{bundle} is a {model.task} model; it has no knowledge base to change.")
        report = update(knowledge_base, how, id_column=id_column, answer_column=answer_column,
                        title_column=title_column)
        save(model, bundle, overwrite=True)
    print_json(report)


@kb_app.command("add")
@user_errors
def kb_add(
    bundle: Annotated[Path, typer.Argument(help="Answer-retrieval bundle folder.")],
    knowledge_base: Annotated[Path, typer.Option("--knowledge-base", help="Table of new answers.")],
    id_column: Annotated[str | None, typer.Option("--id-column", help="Default: the column the model was trained with.")] = None,
    answer_column: Annotated[str | None, typer.Option("--answer-column", help="Default: as trained.")] = None,
    title_column: Annotated[str | None, typer.Option("--title-column", help="Default: as trained.")] = None,
) -> None:
    """Add new answers (their ids must be new); JSON counts on stdout."""
    _change(bundle, knowledge_base, id_column, answer_column, title_column, "add")


@kb_app.command("update")
@user_errors
def kb_update(
    bundle: Annotated[Path, typer.Argument(help="Answer-retrieval bundle folder.")],
    knowledge_base: Annotated[Path, typer.Option("--knowledge-base", help="Table of new or edited answers.")],
    id_column: Annotated[str | None, typer.Option("--id-column", help="Default: the column the model was trained with.")] = None,
    answer_column: Annotated[str | None, typer.Option("--answer-column", help="Default: as trained.")] = None,
    title_column: Annotated[str | None, typer.Option("--title-column", help="Default: as trained.")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="The file is the whole knowledge base: remove answers it lacks.")] = False,
) -> None:
    """Change existing answers and add new ones; only those are embedded again."""
    _change(bundle, knowledge_base, id_column, answer_column, title_column,
            "replace" if replace else "update")
