"""A virtual room for the hands-free loop: a private PulseAudio server with a microphone and a speaker.

    speaker   null sink, the default sink: the skill plays its speech here; tests record its monitor
    micfeed   null sink: whatever is played here is what the microphone hears
    mic       remapped source of micfeed.monitor, the default source: the skill's microphone

With `VirtualRoom(mic_channels=2)` (or 4) micfeed and mic have that many channels, each its own:
channel n of a file played into micfeed is channel n of what the skill captures (ALSA's pulse plugin
names its channels front-left, front-right, rear-left, rear-right, so the room's channels carry
those names; with PulseAudio's aux0, aux1... the plugin's stream got silence).
    both      combine sink (micfeed + speaker): a request played here reaches the microphone and
              lands on the speaker recording too, so request and answer share one timeline

The server is our own (own runtime directory and socket, started and stopped here), so a
PulseAudio server someone else runs on the machine is neither used nor disturbed. Every child
(pactl, paplay, parec, `voice-skill listen`) gets `room.env`, which points it at our socket; the
skill reaches it through ALSA's `default` device and the ALSA pulse plugin, as it would at home.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parent.parent
RATE = 16_000  # the rate speaker recordings are made at
FRAME_S = 0.01  # energy frames for speech detection
LOUD_RMS = 150  # int16 RMS of a frame that counts as sound (about -47 dBFS); the rooms are digitally silent
READY_TIMEOUT_S = 60.0
MIC_CHANNEL_MAPS = {2: "front-left,front-right", 4: "front-left,front-right,rear-left,rear-right"}


class RoomError(RuntimeError):
    """The room could not be set up (no PulseAudio, a module would not load, the skill did not start)."""


# --- analysis -------------------------------------------------------------------------------------


def frame_levels(samples: np.ndarray, rate: int = RATE) -> np.ndarray:
    """RMS of each FRAME_S frame of int16 samples."""
    n = int(rate * FRAME_S)
    count = len(samples) // n
    if count == 0:
        return np.zeros(0)
    frames = np.asarray(samples[:count * n], dtype=np.float64).reshape(count, n)
    return np.sqrt((frames * frames).mean(axis=1))


def loud_frames(samples: np.ndarray, rate: int = RATE, threshold: float = LOUD_RMS) -> np.ndarray:
    return frame_levels(samples, rate) > threshold


def speech_segments(samples: np.ndarray, rate: int = RATE, threshold: float = LOUD_RMS,
                    min_gap_s: float = 0.05) -> list[tuple[float, float]]:
    """(start_s, end_s) of each stretch of sound; quiet gaps shorter than min_gap_s are bridged."""
    loud = loud_frames(samples, rate, threshold)
    segments: list[list[float]] = []
    for index in np.flatnonzero(loud):
        start, end = index * FRAME_S, (index + 1) * FRAME_S
        if segments and start - segments[-1][1] < min_gap_s - 1e-9:
            segments[-1][1] = end
        else:
            segments.append([start, end])
    return [(round(float(s), 3), round(float(e), 3)) for s, e in segments]


def speech_span(samples: np.ndarray, rate: int = RATE, threshold: float = LOUD_RMS) -> tuple[float, float] | None:
    """From the first loud frame to the end of the last one, in seconds; None if all quiet."""
    loud = np.flatnonzero(loud_frames(samples, rate, threshold))
    if loud.size == 0:
        return None
    return loud[0] * FRAME_S, (loud[-1] + 1) * FRAME_S


def read_16k(path: Path | str) -> np.ndarray:
    """A recording as 16 kHz mono int16 (the skill's own reader, so it resamples as the skill would)."""
    from voice_skill.audio_in import read_file

    return read_file(path)


def request_speech_s(path: Path | str) -> float:
    """How long the request file's speech lasts: first loud frame to last."""
    span = speech_span(read_16k(path))
    if span is None:
        raise ValueError(f"{path}: no speech in it")
    return span[1] - span[0]


@dataclass(frozen=True)
class Latency:
    request_start: float  # seconds into the recording
    request_end: float
    answer_onset: float | None  # first sound after the request; None: no answer
    latency: float | None  # answer_onset - request_end


def latency_after(samples: np.ndarray, request_duration: float, rate: int = RATE, search_from: float = 0.0,
                  threshold: float = LOUD_RMS, min_gap_s: float = 0.05) -> Latency | None:
    """Request end to the first sound of the answer, in a speaker recording that holds both.

    The request (played on `both`) is the first sound at or after `search_from`; it ends
    `request_duration` (the request file's own speech length) later. The answer starts at the first
    loud frame after that which follows at least `min_gap_s` of quiet, so the request's own last
    frames (smeared a little by resampling) are never taken for the answer. None if no request.
    """
    loud = loud_frames(samples, rate, threshold)
    first = int(round(search_from / FRAME_S))
    found = np.flatnonzero(loud[first:])
    if found.size == 0:
        return None
    start_index = first + int(found[0])
    start = start_index * FRAME_S
    end = start + request_duration
    gap_frames = max(1, int(round(min_gap_s / FRAME_S)))
    quiet_run = 0
    onset = None
    for index in range(int(np.ceil(end / FRAME_S - 1e-9)), len(loud)):
        if loud[index]:
            if quiet_run >= gap_frames:
                onset = index * FRAME_S
                break
            quiet_run = 0
        else:
            quiet_run += 1
    return Latency(round(float(start), 3), round(float(end), 3), None if onset is None else round(float(onset), 3),
                   None if onset is None else round(float(onset - end), 3))


# --- recording ------------------------------------------------------------------------------------


@dataclass
class Recording:
    """What parec has written so far (`now()`), and everything once the `record()` block has ended."""

    path: Path
    samples: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int16))
    rate: int = RATE
    channels: int = 1  # with more than one, samples are (frames, channels)

    def now(self) -> np.ndarray:
        data = self.path.read_bytes() if self.path.exists() else b""
        frame = 2 * self.channels
        samples = np.frombuffer(data[:len(data) // frame * frame], dtype="<i2")
        return samples if self.channels == 1 else samples.reshape(-1, self.channels)

    @property
    def seconds(self) -> float:
        return len(self.now()) / self.rate


@dataclass
class Round:
    """One request played into the room and whatever followed it."""

    request: Path
    samples: np.ndarray  # speaker recording, 16 kHz int16
    lines: list[str]  # what the skill printed during the round
    timing: Latency | None
    played_at: float = 0.0  # time.monotonic() when paplay returned (the request had been played)
    printed: list[tuple[float, str]] = field(default_factory=list)  # the lines, with when they came
    rate: int = RATE

    def printed_within(self, prefix: str, seconds: float) -> list[str]:
        """Lines starting with `prefix` that came at most `seconds` after the request was played."""
        return [line for at, line in self.printed if line.startswith(prefix) and at - self.played_at <= seconds]

    @property
    def latency(self) -> float | None:
        return None if self.timing is None else self.timing.latency

    def after_request(self) -> np.ndarray:
        """The speaker recording from the end of the request on: the skill's answer, if any."""
        if self.timing is None:
            return self.samples[:0]
        return self.samples[int(self.timing.request_end * self.rate):]


# --- the room -------------------------------------------------------------------------------------


class VirtualRoom:
    """A private PulseAudio server with a virtual microphone and speaker. Use as a context manager."""

    def __init__(self, mic_channels: int = 1) -> None:
        if mic_channels != 1 and mic_channels not in MIC_CHANNEL_MAPS:
            raise RoomError(f"a room's microphone has 1, 2 or 4 channels, not {mic_channels}")
        self.mic_channels = mic_channels
        self.dir: Path | None = None
        self._server: subprocess.Popen | None = None
        self._loopback_module: str | None = None
        self._skill: subprocess.Popen | None = None
        self._out: list[tuple[float, str]] = []
        self._err: list[str] = []
        self._readers: list[threading.Thread] = []
        self.skill_started_at = 0.0
        self.ready_after_s: float | None = None  # `voice-skill listen` start to `Listening`

    # --- the server ---

    @property
    def socket(self) -> Path:
        assert self.dir is not None, "the room is not started"
        return self.dir / "native"

    @property
    def env(self) -> dict[str, str]:
        """Environment for every child: our server only, never autospawn or another one."""
        assert self.dir is not None, "the room is not started"
        env = dict(os.environ)
        env.update({
            "PULSE_SERVER": f"unix:{self.socket}",
            "PULSE_RUNTIME_PATH": str(self.dir / "runtime"),
            "PULSE_STATE_PATH": str(self.dir / "state"),
            "XDG_RUNTIME_DIR": str(self.dir),
            "PULSE_SINK": "speaker",
            "PULSE_SOURCE": "mic",
        })
        env.pop("PULSE_COOKIE", None)
        return env

    def start(self) -> "VirtualRoom":
        if shutil.which("pulseaudio") is None or shutil.which("pactl") is None:
            raise RoomError("pulseaudio and pactl are needed (apt-get install pulseaudio pulseaudio-utils)")
        self.dir = Path(tempfile.mkdtemp(prefix="voice-room-"))
        for sub in ("runtime", "state", "config"):
            (self.dir / sub).mkdir(mode=0o700)
        server_env = {**self.env, "XDG_CONFIG_HOME": str(self.dir / "config")}
        server_env.pop("PULSE_SERVER")  # the server itself must not look for a server
        command = [
            "pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no",
            "--system=no", "--realtime=no", "--high-priority=no", "--disallow-module-loading=no",
            "--log-target=stderr", "--log-level=warning",
            f"--load=module-native-protocol-unix socket={self.socket} auth-anonymous=1",
            "--load=module-null-sink sink_name=speaker",
            *self._microphone_modules(),
            "--load=module-combine-sink sink_name=both slaves=micfeed,speaker",
        ]
        self._server_log = open(self.dir / "pulseaudio.log", "wb")
        self._server = subprocess.Popen(command, env=server_env, stdin=subprocess.DEVNULL,
                                        stdout=self._server_log, stderr=subprocess.STDOUT)
        try:
            self._wait_ready()
            self.pactl("set-default-sink", "speaker")
            self.pactl("set-default-source", "mic")
        except BaseException:
            self.close()
            raise
        return self

    def _microphone_modules(self) -> list[str]:
        if self.mic_channels == 1:
            return ["--load=module-null-sink sink_name=micfeed",
                    "--load=module-remap-source source_name=mic master=micfeed.monitor"]
        layout = f"channels={self.mic_channels} channel_map={MIC_CHANNEL_MAPS[self.mic_channels]}"
        return [f"--load=module-null-sink sink_name=micfeed {layout}",
                f"--load=module-remap-source source_name=mic master=micfeed.monitor {layout} "
                f"master_channel_map={MIC_CHANNEL_MAPS[self.mic_channels]}"]

    def _channel_map(self, channels: int) -> list[str]:
        """paplay/parec's option naming a multi-channel microphone's channels, as the room does (a
        WAV file of 4 channels names none, and paplay's guess mixed them)."""
        return [f"--channel-map={MIC_CHANNEL_MAPS[channels]}"] if channels in MIC_CHANNEL_MAPS else []

    def _wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._server.poll() is not None:
                raise RoomError(f"pulseaudio exited with {self._server.returncode}:\n{self.server_log()}")
            done = subprocess.run(["pactl", "info"], env=self.env, capture_output=True, text=True, timeout=10)
            if done.returncode == 0 and f"unix:{self.socket}" in done.stdout:
                sinks = self.pactl("list", "short", "sinks")
                if all(name in sinks for name in ("speaker", "micfeed", "both")):
                    return
            time.sleep(0.1)
        raise RoomError(f"pulseaudio did not become ready in {timeout:.0f} s:\n{self.server_log()}")

    def server_log(self) -> str:
        try:
            return (self.dir / "pulseaudio.log").read_text(errors="replace")[-4000:]
        except (OSError, TypeError):
            return ""

    def pactl(self, *args: str) -> str:
        done = subprocess.run(["pactl", *args], env=self.env, capture_output=True, text=True, timeout=15)
        if done.returncode != 0:
            raise RoomError(f"pactl {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def close(self) -> None:
        if self._skill is not None and self._skill.poll() is None:
            self._skill.kill()
            self._skill.wait(10)
        if self._server is not None:
            if self._server.poll() is None:
                self._server.terminate()
                try:
                    self._server.wait(10)
                except subprocess.TimeoutExpired:
                    self._server.kill()
                    self._server.wait(10)
            self._server_log.close()
            self._server = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> "VirtualRoom":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- sound in the room ---

    def play(self, path: Path | str, sink: str = "both") -> None:
        """Play a file on a sink and return when it has been played."""
        channels = soundfile.info(str(path)).channels
        done = subprocess.run(["paplay", "-d", sink, *self._channel_map(channels), str(path)], env=self.env,
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RoomError(f"paplay -d {sink} {path} failed: {done.stderr.strip()}")

    @contextlib.contextmanager
    def record(self, source: str = "speaker.monitor", channels: int = 1) -> Iterator[Recording]:
        """Record the speaker (16 kHz int16, mono unless `channels`) for the duration of the block."""
        assert self.dir is not None, "the room is not started"
        handle, name = tempfile.mkstemp(suffix=".raw", dir=self.dir)
        os.close(handle)
        recording = Recording(Path(name), channels=channels)
        with open(name, "wb") as out:
            parec = subprocess.Popen(["parec", "-d", source, "--raw", "--format=s16le", f"--rate={RATE}",
                                      f"--channels={channels}", *self._channel_map(channels), "--latency-msec=20"],
                                     env=self.env, stdout=out, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 10
            while recording.path.stat().st_size == 0:  # the monitor runs all the time: bytes come at once
                if parec.poll() is not None:
                    raise RoomError(f"parec exited: {parec.stderr.read().decode(errors='replace')}")
                if time.monotonic() > deadline:
                    raise RoomError("parec recorded nothing in 10 s")
                time.sleep(0.01)
            yield recording
        finally:
            parec.send_signal(signal.SIGINT)
            try:
                parec.wait(5)
            except subprocess.TimeoutExpired:
                parec.kill()
                parec.wait(5)
            parec.stderr.close()
            recording.samples = recording.now().copy()
            recording.path.unlink(missing_ok=True)

    def loopback(self, on: bool, latency_ms: int | None = None, volume_percent: int | None = None) -> None:
        """The device hears itself: the speaker's sound is fed back into the microphone, as in a room,
        after `latency_ms` and at `volume_percent` of its level (PulseAudio's volume, a cubic scale:
        70% is about -9 dB)."""
        if on and self._loopback_module is None:
            self._loopback_module = self.pactl("load-module", "module-loopback", "source=speaker.monitor",
                                               "sink=micfeed", *([f"latency_msec={latency_ms}"] if latency_ms else []),
                                               "source_dont_move=true", "sink_dont_move=true").strip()
            if volume_percent is not None:
                self.pactl("set-sink-input-volume", self._loopback_input(), f"{volume_percent}%")
        elif not on and self._loopback_module is not None:
            self.pactl("unload-module", self._loopback_module)
            self._loopback_module = None

    def _loopback_input(self) -> str:
        """The loopback's sink input: the one `pactl list sink-inputs` gives its module as owner.
        (In `list short` the second column is the sink, not the module.)"""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            for block in self.pactl("list", "sink-inputs").split("Sink Input #")[1:]:
                if f"Owner Module: {self._loopback_module}\n" in block:
                    return block.split()[0]
            time.sleep(0.05)
        raise RoomError(f"the loopback module {self._loopback_module} has no sink input")

    # --- the skill ---

    def start_skill(self, *args: str, timeout: float = READY_TIMEOUT_S) -> subprocess.Popen:
        """Start `voice-skill listen ARGS` in the room; return once it prints `Listening`."""
        if self._skill is not None and self._skill.poll() is None:
            raise RoomError("the skill is already running")
        self._out, self._err = [], []
        self.skill_started_at = time.monotonic()
        self._skill = subprocess.Popen([sys.executable, "-m", "voice_skill", "listen", *args], cwd=ROOT,
                                       env={**self.env, "PYTHONUNBUFFERED": "1"}, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self._readers = [
            threading.Thread(target=self._read, args=(self._skill.stdout, self._out, True), daemon=True),
            threading.Thread(target=self._read, args=(self._skill.stderr, self._err, False), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        deadline = self.skill_started_at + timeout
        while time.monotonic() < deadline:
            ready = [t for t, line in list(self._out) if line == "Listening"]
            if ready:
                self.ready_after_s = ready[0] - self.skill_started_at
                break
            if self._skill.poll() is not None:
                break
            time.sleep(0.02)
        else:
            self._skill.kill()
            self._skill.wait(10)
        problem = None
        if self.ready_after_s is None or self._skill.poll() is not None:
            problem = f"voice-skill listen did not start listening in {timeout:.0f} s (exit {self._skill.poll()})"
        elif any(line.startswith("No microphone") for line in self.lines()):
            problem = "voice-skill listen found no microphone in the room"
        elif any("printing what I would say instead" in line for line in self.errors()):
            problem = "voice-skill listen found no speaker in the room"
        if problem:
            if self._skill.poll() is None:
                self._skill.kill()
                self._skill.wait(10)
            raise RoomError(f"{problem}\nstdout:\n{chr(10).join(self.lines())}\nstderr:\n{chr(10).join(self.errors())}")
        return self._skill

    @staticmethod
    def _read(stream, into: list, stamped: bool) -> None:
        for line in stream:
            line = line.rstrip("\n")
            into.append((time.monotonic(), line) if stamped else line)

    def lines(self) -> list[str]:
        """What the skill has printed on stdout so far."""
        return [line for _, line in list(self._out)]

    def stamped_lines(self) -> list[tuple[float, str]]:
        return list(self._out)

    def errors(self) -> list[str]:
        return list(self._err)

    @property
    def skill(self) -> subprocess.Popen | None:
        return self._skill

    def stop_skill(self, timeout: float = 15.0) -> int:
        """SIGINT, as Ctrl-C would; the skill must end with exit status 0."""
        assert self._skill is not None, "the skill was not started"
        if self._skill.poll() is None:
            self._skill.send_signal(signal.SIGINT)
            try:
                self._skill.wait(timeout)
            except subprocess.TimeoutExpired:
                self._skill.kill()
                self._skill.wait(10)
                raise AssertionError(f"voice-skill listen did not end within {timeout:.0f} s of SIGINT") from None
        for reader in self._readers:
            reader.join(5)
        code = self._skill.returncode
        if code != 0:
            raise AssertionError(f"voice-skill listen exited with {code} on SIGINT; stderr:\n" + "\n".join(self.errors()))
        return code

    # --- one exchange ---

    def converse(self, request: Path | str, sink: str = "both", answer_timeout: float = 3.0,
                 settle_s: float = 1.0, max_s: float = 40.0) -> Round:
        """Play a request and record until the answer has ended (quiet for settle_s) or none came.

        With sink="both" the request is on the recording and the latency is measured; on any other
        sink the recording holds only the skill's voice (timing is then None).
        """
        request = Path(request)
        duration = request_speech_s(request)
        printed_before = len(self._out)
        with self.record() as recording:
            self.play(request, sink)
            played_at = time.monotonic()
            deadline = played_at + max_s
            while time.monotonic() < deadline:
                time.sleep(0.05)
                samples = recording.now()
                if sink == "both":
                    timing = latency_after(samples, duration)
                    onset = None if timing is None else timing.answer_onset
                else:
                    segments = speech_segments(samples)
                    onset = segments[0][0] if segments else None
                if onset is None:
                    if time.monotonic() - played_at > answer_timeout:
                        break
                    continue
                span = speech_span(samples)
                if span is not None and len(samples) / RATE - span[1] >= settle_s:
                    break
        timing = latency_after(recording.samples, duration) if sink == "both" else None
        printed = list(self._out[printed_before:])
        return Round(request, recording.samples, [line for _, line in printed], timing, played_at, printed)
