"""Shared fixtures: the bundled knowledge base, and the command line as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from voice_skill import knowledge

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = ROOT / "tests" / "recordings"


@pytest.fixture(scope="session")
def kb() -> knowledge.KnowledgeBase:
    return knowledge.load()


def run_cli(*args: str, input: str | None = None, timeout: float = 120, env: dict | None = None,
            prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Run `voice-skill ARGS` in a fresh process, as a user would."""
    command = [*prefix, sys.executable, "-m", "voice_skill", *args]
    return subprocess.run(command, input=input, capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env={**os.environ, **(env or {})})
