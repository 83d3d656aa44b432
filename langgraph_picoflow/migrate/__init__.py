"""Moving sessions around: between stores, from ``MongoDBSaver``, in and out of files.

* :func:`migrate` / :func:`migrate_store`: copy sessions *and* their checkpoint logs from
  one Picoflow store to another (any two of SQLite, memory, MongoDB, Cosmos DB), converting
  layouts (C -> B always, A -> B on request) and ids where the target needs it;
  idempotent, resumable through a journal, verified before anything is deleted.
* :func:`migrate_langgraph_mongodb` / :func:`import_langgraph_mongodb`: replay threads of
  ``langgraph-checkpoint-mongodb`` into Picoflow sessions with their whole history.
* :func:`iter_sessions`, :func:`transcript`, :func:`export_text`, :func:`import_sessions`:
  what ``langgraph-picoflow sessions`` shows and moves.
* :func:`expire_sessions`, :func:`prune_sessions`: Picoflow expiry and LangGraph pruning.

Every bulk operation works one thread at a time (memory stays flat in the number of
sessions), reports each session it could not handle with the reason and goes on.
"""

from langgraph_picoflow.migrate._copy import MigrateOptions, MigrationError, migrate_store
from langgraph_picoflow.migrate._ids import IdRules, derived_id, rename_thread
from langgraph_picoflow.migrate._journal import Journal, JournalMismatchError, write_id_map
from langgraph_picoflow.migrate._langgraph_mongodb import import_langgraph_mongodb
from langgraph_picoflow.migrate._layout import a_to_b, convert_thread, converter
from langgraph_picoflow.migrate._maintenance import expire_sessions, is_expired, prune_sessions
from langgraph_picoflow.migrate._report import Listener, Outcome, Report, describe
from langgraph_picoflow.migrate._sessions import (
    Line,
    SessionFilter,
    SessionSummary,
    as_datetime,
    b_view,
    iter_sessions,
    summarize,
    thread_ids,
    transcript,
)
from langgraph_picoflow.migrate._thread import ThreadData, read_thread, same_content
from langgraph_picoflow.migrate._transfer import (
    Source,
    export_line,
    export_text,
    import_sessions,
    read_sources,
)
from langgraph_picoflow.migrate._urls import (
    Bookkeeping,
    MigrationResult,
    default_journal_path,
    migrate,
    migrate_langgraph_mongodb,
    redact,
)

__all__ = [
    "Bookkeeping",
    "IdRules",
    "Journal",
    "JournalMismatchError",
    "Line",
    "Listener",
    "MigrateOptions",
    "MigrationError",
    "MigrationResult",
    "Outcome",
    "Report",
    "SessionFilter",
    "SessionSummary",
    "Source",
    "ThreadData",
    "a_to_b",
    "as_datetime",
    "b_view",
    "convert_thread",
    "converter",
    "default_journal_path",
    "derived_id",
    "describe",
    "expire_sessions",
    "export_line",
    "export_text",
    "import_langgraph_mongodb",
    "import_sessions",
    "is_expired",
    "iter_sessions",
    "migrate",
    "migrate_langgraph_mongodb",
    "migrate_store",
    "prune_sessions",
    "read_sources",
    "read_thread",
    "redact",
    "rename_thread",
    "same_content",
    "summarize",
    "thread_ids",
    "transcript",
    "write_id_map",
]
