"""Where the real Picoflow sample documents are, for the tests that need them.

They are read in place (never copied into this repository): ``../shared/picoflow/samples``
relative to the repository root, or the folder named by ``PICOFLOW_SAMPLES``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = Path(
    os.environ.get("PICOFLOW_SAMPLES") or REPO_ROOT.parent / "shared" / "picoflow" / "samples"
)
SKIP_REASON = f"Picoflow sample folder {SAMPLES_DIR} is absent (set PICOFLOW_SAMPLES to use one)"
requires_samples = pytest.mark.skipif(not SAMPLES_DIR.is_dir(), reason=SKIP_REASON)


def sample_paths() -> list[Path]:
    """The sample documents, sorted by name (empty when the folder is absent)."""
    return sorted(SAMPLES_DIR.glob("*.json")) if SAMPLES_DIR.is_dir() else []


def sample_params() -> list[Any]:
    """``pytest.param`` per sample, or one skipped param saying why there are none."""
    paths = sample_paths()
    if not paths:
        return [pytest.param(None, marks=pytest.mark.skip(reason=SKIP_REASON), id="no-samples")]
    return [pytest.param(p, id=p.stem) for p in paths]


def sample(name_part: str) -> Path:
    """The one sample whose file name contains ``name_part``; skips the test when absent."""
    matches = [p for p in sample_paths() if name_part in p.name]
    if len(matches) != 1:
        pytest.skip(SKIP_REASON if not SAMPLES_DIR.is_dir() else f"no sample {name_part!r}")
    return matches[0]
