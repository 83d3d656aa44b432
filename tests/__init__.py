"""Test suite of langgraph-picoflow (a package so that modules import as ``tests.xxx``)."""
