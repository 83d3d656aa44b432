"""Typed errors of the Flow API.

Definition errors are raised by :meth:`Flow.compile`, before any conversation, and name the
flow and step they are about::

    >>> str(UnknownStepError("go(PaymentStep) names no step of the flow", "Shop", "CartStep"))
    'Shop.CartStep: go(PaymentStep) names no step of the flow'
"""

from __future__ import annotations

from langgraph_picoflow.errors import PicoflowError


class FlowError(PicoflowError):
    """Base class of the errors of :mod:`langgraph_picoflow.flow`."""


class FlowDefinitionError(FlowError, ValueError):
    """A flow that Picoflow's programming model would not run, found when it is compiled."""

    def __init__(self, message: str, flow: str = "", step: str = "") -> None:
        self.flow = flow
        self.step = step
        where = ".".join(part for part in (flow, step) if part)
        super().__init__(f"{where}: {message}" if where else message)


class StepNameError(FlowDefinitionError):
    """A step name that cannot be a graph node or a message-id prefix, or is used twice."""


class UnknownStepError(FlowDefinitionError):
    """A transition, ``run_step`` or ``activate`` names a step the flow does not declare."""


class ActiveStepError(FlowDefinitionError):
    """More than one step is declared active (Picoflow keeps exactly one ``isActive``)."""


class MissingHandlerError(FlowDefinitionError):
    """A tool is offered to the model but no handler method or function answers it."""


class NamespaceError(FlowDefinitionError):
    """A memory namespace name Picoflow cannot store (see :func:`check_namespace`)."""


class ModelError(FlowDefinitionError):
    """A step names a model that is not registered, or no model is registered at all."""


class ToolDefinitionError(FlowDefinitionError):
    """A tool whose name or schema a model provider would refuse."""


class FlowRuntimeError(FlowError, RuntimeError):
    """A turn could not go on (a loop that never answers, a helper used outside a turn...)."""
