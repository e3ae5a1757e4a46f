"""Which echo canceller hears a command over the skill's voice: PulseAudio's module-echo-cancel
(WebRTC) against the skill's own (livekit AEC3, voice_skill.echo), in a virtual room.

    nice -n 10 .venv/bin/python bench/echo_room.py [--per-intent 4] [--volume 60] [--pulse-args "..."]

The room (tests/room.py) loops its speaker back into its microphone (40 ms, --volume). PulseAudio's
canceller is loaded on it (speaker_ec / mic_ec, aec_method=webrtc with --pulse-args); step 1 is
played to speaker_ec, and a command recording (next/stop/repeat, several voices) is played into
the microphone 1.5 s into it, scaled to +6, 0 and -6 dB against the echo (RMS over speech). Both the
cancelled source (mic_ec) and the raw microphone are recorded at once. mic_ec goes straight to the
command decoder (voice_skill.barge_in, no canceller of ours); the raw microphone goes through
voice_skill.echo fed step 1 where its echo was found (as the skill's timestamps would place it),
after a warm-up recording of the help line (as on a device that has spoken before), under each
AEC3 setting. A trial counts when the command's intent is acted on after it was said.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
import soxr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench.barge_in import CHUNK, SERS_DB, command_recordings, rms, speech_part  # noqa: E402
from bench.barge_in_room import find  # noqa: E402
from room import RATE, RoomError, VirtualRoom  # noqa: E402
from voice_skill import knowledge  # noqa: E402
from voice_skill.audio_in import SAMPLE_RATE, read_file  # noqa: E402
from voice_skill.barge_in import CommandListener  # noqa: E402
from voice_skill.echo import EchoCanceller  # noqa: E402
from voice_skill.for_us import INTERRUPTING  # noqa: E402
from voice_skill.matcher import Matcher  # noqa: E402
from voice_skill.recognizer import Recognizer, find_model, grammar_phrases, load_model  # noqa: E402
from voice_skill.speech_out import Synthesizer  # noqa: E402

LOOPBACK_MS = 40
COMMAND_AT_S = 1.5
PULSE_ARGS = "analog_gain_control=0 digital_gain_control=0"
AEC3 = {"aec3 (the skill's: hpf, no ns)": dict(noise_suppression=False, high_pass_filter=True),
        "aec3 + noise suppression": dict(noise_suppression=True, high_pass_filter=True),
        "aec3 without high-pass": dict(noise_suppression=False, high_pass_filter=False)}


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    soundfile.write(path, np.clip(samples, -1, 1), rate, subtype="PCM_16")
    return path


def play_and_record(room: VirtualRoom, line: Path, command: Path | None, after_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Play `line` on speaker_ec and `command` into the microphone `COMMAND_AT_S` into it; what
    mic_ec and the raw microphone recorded, `after_s` past the command (or the whole line)."""
    with room.record("mic_ec") as cancelled, room.record("mic") as raw:
        player = subprocess.Popen(["paplay", "-d", "speaker_ec", str(line)], env=room.env)
        if command is None:
            player.wait(60)
        else:
            time.sleep(COMMAND_AT_S)
            room.play(command, sink="micfeed")
            time.sleep(after_s)
            player.terminate()
            player.wait(10)
        time.sleep(0.3)
    return cancelled.samples, raw.samples


def decode(listener: CommandListener, audio: np.ndarray, canceller: EchoCanceller | None = None,
           reference: list[tuple[np.ndarray, float]] = (), start_s: float = 0.0) -> list[tuple[str, float]]:
    """Commands found in `audio` (int16 16 kHz), each with when (s into `audio`); with a canceller,
    `reference` (blocks at the voice's rate, their time on this timeline) is played into it first."""
    found = []
    blocks = list(reference)
    for at in range(0, len(audio) - CHUNK + 1, CHUNK):
        now = start_s + at / SAMPLE_RATE
        chunk = audio[at:at + CHUNK].astype("<i2").tobytes()
        if canceller is not None:
            while blocks and blocks[0][1] < now + CHUNK / SAMPLE_RATE + 0.1:
                block, heard_at = blocks.pop(0)
                canceller.played(block, VOICE_RATE, heard_at)
            chunk = canceller.process(chunk, now)
        command = listener.feed(chunk)
        if command is not None:
            found.append((command.match.intent, at / SAMPLE_RATE))
            if VERBOSE:
                print(f"    heard {command.text!r} [{command.match.intent}] at {at / SAMPLE_RATE:.2f} s")
            listener.reset()
    return found


VOICE_RATE = 22050
VERBOSE = False


def as_blocks(played: np.ndarray, rate: int, start_s: float, end_s: float) -> list[tuple[np.ndarray, float]]:
    """`played` in 1024-sample blocks from `start_s` (silence after it, up to `end_s`)."""
    total = int((end_s - start_s) * rate) // 1024 * 1024 + 1024
    padded = np.pad(played, (0, max(0, total - len(played))))[:total].astype(np.float32)
    return [(padded[i:i + 1024], start_s + i / rate) for i in range(0, total, 1024)]


def main() -> int:
    global VOICE_RATE, VERBOSE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-intent", type=int, default=4, help="command recordings per intent (default 4)")
    parser.add_argument("--volume", type=int, default=60, help="loopback volume, percent (default 60)")
    parser.add_argument("--pulse-args", default=PULSE_ARGS, help=f"module-echo-cancel aec_args (default {PULSE_ARGS!r})")
    parser.add_argument("--keep", action="store_true", help="keep the recordings (.npz) in the temporary folder")
    parser.add_argument("--verbose", action="store_true", help="print every command heard")
    args = parser.parse_args()
    VERBOSE = args.verbose
    print("command:", shlex.join([sys.executable, *sys.argv]))
    kb = knowledge.load()
    model = load_model(find_model())
    matcher = Matcher(kb)
    grammar = grammar_phrases(kb, model, INTERRUPTING)
    synthesizer = Synthesizer("en")
    VOICE_RATE = rate = synthesizer.output_rate()
    step = synthesizer.render(kb.lines("cramp_relief", "en")[0])
    primer = synthesizer.render(kb.lines("help", "en")[0])
    chosen: dict[str, list[Path]] = {}
    for intent, path in command_recordings():
        if len(chosen.setdefault(intent, [])) < args.per_intent:
            chosen[intent].append(path)
    tmp = Path(tempfile.mkdtemp(prefix="echo-room-"))
    step_wav, primer_wav = write_wav(tmp / "step.wav", step, rate), write_wav(tmp / "primer.wav", primer, rate)
    step16 = soxr.resample(step, rate, RATE)
    if args.keep:
        print(f"recordings kept in {tmp}")
    results: dict[str, dict[int, list[bool]]] = {}
    try:
        with VirtualRoom() as room:
            room.loopback(True, LOOPBACK_MS, args.volume)
            room.pactl("load-module", "module-echo-cancel", "aec_method=webrtc", f"aec_args=\"{args.pulse_args}\"",
                       "source_master=mic", "sink_master=speaker", "source_name=mic_ec", "sink_name=speaker_ec")
            _, warm_raw = play_and_record(room, primer_wav, None, 0)  # both cancellers learn the room
            _, echo_raw = play_and_record(room, step_wav, None, 0)
            echo_rms = rms(speech_part(echo_raw.astype(np.float64) / 32768))
            print(f"echo at the microphone: {20 * np.log10(echo_rms):.1f} dBFS (loopback {LOOPBACK_MS} ms, {args.volume}%); "
                  f"PulseAudio aec_args: {args.pulse_args}")
            warm_at = find(soxr.resample(primer, rate, RATE), warm_raw)
            for intent, paths in chosen.items():
                for path in paths:
                    voice = read_file(path).astype(np.float64) / 32768
                    for ser in SERS_DB:
                        scaled = voice * echo_rms * 10 ** (ser / 20) / rms(speech_part(voice))
                        command = write_wav(tmp / f"command{ser}.wav", scaled, SAMPLE_RATE)
                        cancelled, raw = play_and_record(room, step_wav, command, 1.5)
                        if args.keep:
                            np.savez(tmp / f"{path.stem}_{ser}.npz", cancelled=cancelled, raw=raw, warm_raw=warm_raw, scaled=scaled)
                        said_at = find(scaled, raw)
                        if VERBOSE:
                            print(f"  {path.name} {ser:+d} dB said at {said_at:.2f} s")  # the command's place on the raw microphone's timeline
                        heard = decode(CommandListener(Recognizer(model, grammar), matcher), cancelled)
                        ok = any(i == intent and t >= said_at - 0.3 for i, t in heard)  # mic_ec lags raw a little
                        results.setdefault("pulseaudio module-echo-cancel", {}).setdefault(ser, []).append(ok)
                        echo_at = find(step16, raw[:int(1.4 * RATE)] if len(raw) > 1.4 * RATE else raw)
                        for name, options in AEC3.items():
                            canceller = EchoCanceller(**options)
                            warm_s = len(warm_raw) / RATE
                            listener = CommandListener(Recognizer(model, grammar), matcher, canceller)
                            decode(listener, warm_raw, canceller, as_blocks(primer, rate, warm_at - 0.04, warm_s))
                            listener.reset()
                            start = warm_s + 0.5
                            found = decode(listener, raw, canceller,
                                           as_blocks(step, rate, start + echo_at - 0.04, start + len(raw) / RATE), start)
                            ok = any(i == intent and t >= said_at for i, t in found)
                            results.setdefault(name, {}).setdefault(ser, []).append(ok)
                    print(f"  {path.name}: " + "; ".join(
                        f"{name.split(' (')[0]} {''.join('+' if r else '.' for r in [v[s][-1] for s in SERS_DB])}"
                        for name, v in results.items()), flush=True)
    except RoomError as error:
        print(f"echo_room: {error}", file=sys.stderr)
        return 1
    for name, by_ser in results.items():
        print(f"{name}: " + ", ".join(f"{ser:+d} dB {sum(r)}/{len(r)}" for ser, r in by_ser.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
