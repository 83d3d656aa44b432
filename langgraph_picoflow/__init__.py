"""langgraph-picoflow: LangGraph checkpoints stored as Picoflow session documents.

>>> from langgraph_picoflow import PicoflowSaver, AsyncPicoflowSaver
"""

from langgraph_picoflow.errors import ConflictError, PicoflowError, SessionDocumentError, StoreError
from langgraph_picoflow.mapping import SessionConfig
from langgraph_picoflow.saver import AsyncPicoflowSaver, PicoflowSaver

__all__ = [
    "AsyncPicoflowSaver",
    "ConflictError",
    "PicoflowError",
    "PicoflowSaver",
    "SessionConfig",
    "SessionDocumentError",
    "StoreError",
]
