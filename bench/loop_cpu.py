"""The whole hands-free loop's CPU while it speaks and while it listens, faster than real time.

    nice -n 10 .venv/bin/python -m bench.loop_cpu [--minutes 5] [--seed 1]

Everything the loop runs per microphone chunk is the skill's own code: the echo canceller
(voice_skill.echo) fed every block the speaker plays, the main decoder (the full grammar) while it
listens, the command decoder (voice_skill.barge_in) while it speaks, the matcher and the dialogue
(voice_skill.listen.HandsFree). Only the room is simulated: the speaker plays the rendered lines the
loop asks for, their echo (40 ms, a short tail, about -26 dBFS) reaches the microphone, and a person
asks for relief, then says "next", "repeat" and "stop" over the steps and in the gaps (the command
recordings of tests/recordings/demo, at the echo's level). CPU seconds (process_time) per second of
audio is the real-time factor, split by whether the skill was speaking.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections import deque
from pathlib import Path

import numpy as np
import soxr

from bench.barge_in import CHUNK, ECHO_RMS, PLAY_BLOCK, echo_path, rms, speech_part
from voice_skill import knowledge
from voice_skill.audio_in import SAMPLE_RATE, read_file
from voice_skill.conversation import Conversation
from voice_skill.echo import EchoCanceller
from voice_skill.listen import HandsFree, open_commands
from voice_skill.recognizer import open_recognizer
from voice_skill.speech_out import Synthesizer, gain_ramp
from voice_skill.tuning import DUCK_DB

DEMO = Path(__file__).resolve().parent.parent / "tests" / "recordings" / "demo"
DELAY_S = 0.04
# What the person says, and when: (while the skill is "speaking" or "idle", after this many seconds of it).
SCRIPT = [("idle", 1.0, "my-calf-is-cramping"), ("speaking", 3.0, "next"), ("speaking", 2.5, "repeat"),
          ("idle", 0.8, "next"), ("speaking", 1.0, "stop"), ("idle", 4.0, None)]


class SimulatedSpeaker:
    """Plays rendered lines block by block on the simulated clock, handing each block to the canceller."""

    def __init__(self, synthesizer: Synthesizer, canceller: EchoCanceller) -> None:
        self.synthesizer = synthesizer
        self.rate = synthesizer.output_rate()
        self.canceller = canceller
        self.queue: deque[np.ndarray] = deque()
        self.speaking = False
        self.last_sound_at = float("-inf")
        self.handed_s = 0.0  # the speaker's timeline: blocks up to here have been handed over
        self.gain = self._last_gain = 1.0  # lowered while someone talks over it (as Speaker.duck)

    def say(self, lines) -> None:
        for line in lines:
            self.queue.append(self.synthesizer.render(line))
        self.speaking = self.speaking or bool(self.queue)

    def interrupt(self) -> None:
        self.queue.clear()
        self.speaking = False
        self.gain = 1.0

    def duck(self, on: bool) -> None:
        self.gain = 10 ** (-DUCK_DB / 20) if on else 1.0

    def play_until(self, t: float) -> np.ndarray:
        """Hand over the blocks up to `t`; the audio played (at 16 kHz) for the echo."""
        out = []
        while self.handed_s < t:
            block = np.zeros(PLAY_BLOCK, np.float32)
            filled = 0
            while filled < PLAY_BLOCK and self.queue:
                take = min(PLAY_BLOCK - filled, len(self.queue[0]))
                block[filled:filled + take] = self.queue[0][:take]
                self.queue[0] = self.queue[0][take:]
                filled += take
                if not len(self.queue[0]):
                    self.queue.popleft()
            if filled:
                self.last_sound_at = self.handed_s + PLAY_BLOCK / self.rate
            elif not self.queue:
                self.speaking = False
            block *= gain_ramp(self._last_gain, self.gain, PLAY_BLOCK)
            self._last_gain = self.gain
            self.canceller.played(block, self.rate, self.handed_s)
            out.append(block)
            self.handed_s += PLAY_BLOCK / self.rate
        return np.concatenate(out) if out else np.zeros(0, np.float32)


def run(minutes: float, seed: int, verbose: bool) -> None:
    rng = np.random.default_rng(seed)
    kb = knowledge.load()
    synthesizer = Synthesizer("en")
    synthesizer.prepare(kb.all_lines("en"))
    said = {name: read_file(DEMO / f"{name}.wav").astype(np.float32) / 32768
            for name in {name for _, _, name in SCRIPT if name}}
    canceller = EchoCanceller()
    speaker = SimulatedSpeaker(synthesizer, canceller)
    recognizer = open_recognizer("en", kb)
    conversation = Conversation(kb, "en", hands_free=True)
    now = [0.0]
    actions: list[str] = []
    loop = HandsFree(recognizer, conversation, speaker, emit=lambda line: actions.append(f"{now[0]:7.2f} {line}"), clock=lambda: now[0],
                     commands=open_commands(kb, recognizer, conversation, canceller))
    played16 = np.zeros(0, np.float32)  # everything played so far, at 16 kHz, for the echo
    resampler = soxr.ResampleStream(speaker.rate, SAMPLE_RATE, 1, dtype="float32")
    echo_gain = None
    impulse = np.zeros(int((DELAY_S + 0.21) * SAMPLE_RATE), np.float32)
    impulse[0] = 1.0
    response = echo_path(impulse, DELAY_S, rng)  # one room, its echo path fixed
    person = np.zeros(0, np.float32)  # what the person is saying, from now on
    step, state_since, state = 0, 0.0, "idle"
    cpu = {"speaking": 0.0, "idle": 0.0}
    audio = {"speaking": 0.0, "idle": 0.0}
    at = 0
    while at < minutes * 60 * SAMPLE_RATE:
        now[0] = at / SAMPLE_RATE
        played16 = np.concatenate([played16, resampler.resample_chunk(speaker.play_until(now[0] + 0.15))])
        if echo_gain is None and played16.any():
            echo_gain = ECHO_RMS / rms(speech_part(soxr.resample(synthesizer.render(kb.lines("cramp_relief", "en")[0]),
                                                                 speaker.rate, SAMPLE_RATE)))
        window = played16[max(0, at - len(response) + 1):at + CHUNK]
        window = np.pad(window, (len(response) - 1 + CHUNK - len(window), 0))
        echo = np.convolve(window, response, "valid")
        mic = (echo_gain or 0.0) * echo + rng.standard_normal(CHUNK).astype(np.float32) * 1e-4
        if len(person):
            take = min(CHUNK, len(person))
            mic[:take] += person[:take]
            person = person[take:]
        pcm = (np.clip(mic, -1, 1) * 32767).astype("<i2").tobytes()
        state_now = "speaking" if speaker.speaking else "idle"
        if state_now != state:
            state, state_since = state_now, now[0]
        want, after, name = SCRIPT[step % len(SCRIPT)]
        if not len(person) and state == want and now[0] - state_since >= after:
            if name:
                actions.append(f"{now[0]:7.2f} (says {name} while {state})")
                voice = said[name]
                person = voice * (2 * ECHO_RMS / rms(speech_part(voice)))  # +6 dB over the echo
            step, state_since = step + 1, now[0]
        started = time.process_time()
        cleaned = canceller.process(pcm, now[0])
        loop.feed(cleaned if canceller.echo_possible(now[0]) else pcm)
        cpu[state] += time.process_time() - started
        audio[state] += CHUNK / SAMPLE_RATE
        at += CHUNK
    for part in ("speaking", "idle"):
        print(f"  {part}: {audio[part]:.0f} s of audio, real-time factor {cpu[part] / max(audio[part], 1e-9):.3f}")
    total = sum(cpu.values()) / sum(audio.values())
    print(f"  whole loop: real-time factor {total:.3f} over {sum(audio.values()) / 60:.1f} min")
    if verbose:
        print("\n".join(actions))
    heard = [line.split(None, 1)[1] for line in actions if line.split(None, 1)[1].startswith("heard:")]
    print(f"  acted on {len(heard)} utterances over {step} scripted turns: "
          + ", ".join(sorted({f'{h.split("[")[1].split()[0]} x{sum(x.split("[")[1].split()[0] == h.split("[")[1].split()[0] for x in heard)}' for h in heard})))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="minutes of audio (default 5)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--verbose", action="store_true", help="print what was said and what the loop did")
    args = parser.parse_args()
    print("command:", shlex.join([sys.executable, *sys.argv]))
    run(args.minutes, args.seed, args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
