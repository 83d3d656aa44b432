"""Which exceptions count as *typed*: what a caller can catch and act on.

Our own (:class:`~langgraph_picoflow.errors.PicoflowError`: ``ConflictError``,
``StoreError``, ``SessionDocumentError``) and the drivers' own families, which the stores
let through for network failures (``pymongo.errors.PyMongoError``,
``azure.core.exceptions.AzureError``). Anything else escaping the saver (``KeyError``,
``TypeError``, ``UnicodeEncodeError``...) is a bug.
"""

from __future__ import annotations

from langgraph_picoflow.errors import PicoflowError


def typed_families() -> tuple[type[BaseException], ...]:
    """The exception base classes a failure may have (drivers only when installed)."""
    families: list[type[BaseException]] = [PicoflowError]
    try:
        from pymongo.errors import PyMongoError

        families.append(PyMongoError)
    except ImportError:  # pragma: no cover - the mongodb extra is not installed
        pass
    try:
        from azure.core.exceptions import AzureError

        families.append(AzureError)
    except ImportError:  # pragma: no cover - the cosmos extra is not installed
        pass
    return tuple(families)


def is_typed(exc: BaseException) -> bool:
    """Whether ``exc`` is one of the typed families."""
    return isinstance(exc, typed_families())
