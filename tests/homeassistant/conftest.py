"""Home Assistant's own code against a real `voice-skill serve`: the server runs in the skill's .venv
(VOICE_SKILL_PYTHON; scripts/test_homeassistant.sh sets it) on a free loopback port, Home Assistant
(pinned in requirements.txt) in this one, through pytest-homeassistant-custom-component's `hass`."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # custom_components/voice_skill, as Home Assistant's config dir holds it
# Imported now, before the harness puts its own testing config (with a custom_components of its own)
# first on sys.path: Home Assistant's loader then finds this repository's integration.
import custom_components  # noqa: E402,F401
HOST = "127.0.0.1"
STARTUP_S = 60.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


# Picked while collecting: pytest-homeassistant-custom-component blocks new sockets (but for
# connections to 127.0.0.1) once a test is set up.
PORTS = iter([_free_port() for _ in range(16)])


@dataclass
class Serve:
    process: subprocess.Popen
    port: int
    log: list[str]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def _die_with_parent() -> None:
    """In the server process: SIGTERM when pytest ends, however it ends (killed, or its output cut
    short), so no server outlives the tests."""
    import ctypes
    import signal

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start_serve(*args: str) -> Serve:
    """`voice-skill serve --verbose` on a free loopback port, ready once it says `Serving on`."""
    python = os.environ.get("VOICE_SKILL_PYTHON", str(ROOT / ".venv" / "bin" / "python"))
    if not Path(python).exists():
        pytest.fail(f"no skill environment at {python}: run `make setup` (or set VOICE_SKILL_PYTHON)")
    port = next(PORTS)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's code, whichever .venv runs it
    process = subprocess.Popen([python, "-m", "voice_skill", "serve", "--uri", f"tcp://{HOST}:{port}", "--verbose", *args],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               preexec_fn=_die_with_parent)
    log: list[str] = []
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 1.0)
        if ready:
            line = process.stdout.readline()
            if not line:
                break
            log.append(line)
            if line.startswith("Serving on"):
                os.set_blocking(process.stdout.fileno(), False)
                return Serve(process, port, log)
    process.kill()
    pytest.fail(f"voice-skill serve did not start: {''.join(log)}")


@pytest.fixture(scope="module")
def serve() -> Iterator[Serve]:
    server = start_serve()
    yield server
    server.stop()




@pytest.fixture(scope="session")
def kb():
    from voice_skill import knowledge  # the standard library only: loads in this environment too

    return knowledge.load()


def speech(result) -> str:
    """What Home Assistant would say for a ConversationResult."""
    return result.response.speech.get("plain", {}).get("speech", "")


@pytest.fixture(autouse=True)
def _loopback_only(socket_enabled) -> None:
    """The harness blocks sockets; these tests talk to a real server, on 127.0.0.1 only (the
    harness still refuses any other host: nothing here reaches the network)."""
