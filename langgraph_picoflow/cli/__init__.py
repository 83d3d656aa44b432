"""The ``langgraph-picoflow`` command line: a table of contents.

Each command lives in its own module; this one only attaches them to ``app``:

* ``validate``, ``convert`` (:mod:`._documents`): documents in files (validate: or a store);
* ``sessions list/show/export/import`` (:mod:`._sessions`): the sessions of a store;
* ``migrate`` (:mod:`._migrate`): between stores, or from ``langgraph-checkpoint-mongodb``;
* ``expire``, ``prune`` (:mod:`._maintenance`): Picoflow expiry and LangGraph pruning.

Commands that work on a store take ``--store URL`` (default: ``$PICOFLOW_STORE``, else the
embedded SQLite file ``./picoflow.db``).
"""

import typer

from langgraph_picoflow.cli._documents import convert_command, validate_command
from langgraph_picoflow.cli._maintenance import expire_command, prune_command
from langgraph_picoflow.cli._migrate import migrate_command
from langgraph_picoflow.cli._sessions import sessions_app

app = typer.Typer(
    name="langgraph-picoflow",
    help="Work with Picoflow session documents and the LangGraph checkpointer built on them.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Work with Picoflow session documents and the LangGraph checkpointer built on them."""


app.command("validate")(validate_command)
app.command("convert")(convert_command)
app.add_typer(sessions_app, name="sessions")
app.command("migrate")(migrate_command)
app.command("expire")(expire_command)
app.command("prune")(prune_command)


def main() -> None:
    """Run the command line (the ``langgraph-picoflow`` console script)."""
    app()


if __name__ == "__main__":
    main()
