"""Picoflow's programming model (``Flow``, ``Step``, tools, transitions) on LangGraph.

A flow compiles to a LangGraph graph whose nodes are its steps; with a
:class:`~langgraph_picoflow.PicoflowSaver` its checkpoints *are* Picoflow session
documents, written exactly as Picoflow's runtime writes them::

    from langgraph_picoflow import PicoflowSaver
    from langgraph_picoflow.flow import EndStep, Flow, Step, gemini, go, stay, tool

    class HelloStep(Step):
        prompt = "Ask the user's name, then call capture_name."

        @tool(schema={"type": "object", "properties": {"name": {"type": "string"}}})
        def capture_name(self, call):
            '''Capture the user's name.'''
            if call["args"]["name"] == "John Doe":
                return stay("Cannot accept John Doe, please choose a different name.")
            self.save_state({"name": call["args"]["name"]})
            return go(EndStep)

    flow = Flow([HelloStep(active=True), EndStep()], name="TutorialFlow",
                models={"gemini-2.5-flash": gemini("gemini-2.5-flash")})
    with PicoflowSaver.from_conn_string("sqlite:///sessions.db") as saver:
        graph = flow.compile(checkpointer=saver)
        graph.invoke({"message": "Hi"}, {"configurable": {"thread_id": session_id}})["reply"]

Picoflow 1.0.x concepts map as follows: ``defineSteps`` -> ``define_steps``/``steps=``;
``useMemory``/``useModel`` -> ``use_memory``/``use_model``; ``defineTool`` + a method
named after the tool -> ``@tool``; returning a step, a name or ``{step, tool, state,
prompt, message, contentType}`` -> the same, or ``go(...)``/``stay(...)``/``direct(...)``;
``saveState``/``getState``/``runStep`` -> ``save_state``/``get_state``/``run_step``;
``EndStep`` and ``LogicStep`` keep their names.
"""

from langgraph_picoflow.flow._end import DONE_WITH_CHAT, END_PROMPT, EndStep
from langgraph_picoflow.flow._errors import (
    ActiveStepError,
    FlowDefinitionError,
    FlowError,
    FlowRuntimeError,
    MissingHandlerError,
    ModelError,
    NamespaceError,
    StepNameError,
    ToolDefinitionError,
    UnknownStepError,
)
from langgraph_picoflow.flow._flow import ChatReply, Flow
from langgraph_picoflow.flow._graph import TURN_NODE, FlowInput, FlowOutput, FlowState
from langgraph_picoflow.flow._models import (
    ModelFactory,
    ModelLike,
    Script,
    ScriptedCall,
    ScriptedChatModel,
    gemini,
    reply,
    reply_from_json,
    reply_to_json,
    with_params,
)
from langgraph_picoflow.flow._runner import HALLUCINATED, NUDGE, TRANSITION, VALIDATED
from langgraph_picoflow.flow._runtime import merge_memory
from langgraph_picoflow.flow._state import (
    get_path,
    js_json,
    merge_state,
    remove_state,
    save_state,
)
from langgraph_picoflow.flow._step import START, LogicStep, Step
from langgraph_picoflow.flow._tools import Tool, end_chat_tool, tool
from langgraph_picoflow.flow._transition import StepRef, Transition, direct, go, stay
from langgraph_picoflow.flow._validate import check_namespace

__all__ = [
    "DONE_WITH_CHAT",
    "END_PROMPT",
    "HALLUCINATED",
    "NUDGE",
    "START",
    "TRANSITION",
    "TURN_NODE",
    "VALIDATED",
    "ActiveStepError",
    "ChatReply",
    "EndStep",
    "Flow",
    "FlowDefinitionError",
    "FlowError",
    "FlowInput",
    "FlowOutput",
    "FlowRuntimeError",
    "FlowState",
    "LogicStep",
    "MissingHandlerError",
    "ModelError",
    "ModelFactory",
    "ModelLike",
    "NamespaceError",
    "Script",
    "ScriptedCall",
    "ScriptedChatModel",
    "Step",
    "StepNameError",
    "StepRef",
    "Tool",
    "ToolDefinitionError",
    "Transition",
    "UnknownStepError",
    "check_namespace",
    "direct",
    "end_chat_tool",
    "gemini",
    "get_path",
    "go",
    "js_json",
    "merge_memory",
    "merge_state",
    "remove_state",
    "reply",
    "reply_from_json",
    "reply_to_json",
    "save_state",
    "stay",
    "tool",
    "with_params",
]
