"""The benchmark: every system on the same recordings, figures into bench/results.{json,md,png}.

    .venv/bin/python -m bench.run            # full: make bench (about 20 minutes on 2 cores)
    .venv/bin/python -m bench.run --quick    # CI-sized: make bench-quick, written to bench/work/quick/
    .venv/bin/python -m bench.run --hands-free [--lead-in 3]   # skill-default's false accepts and
        # accuracy from idle only (clean, babble10, talk10), in minutes: bench/work/hands-free/

Steps: render the recordings if they are missing or stale (bench/make_audio.py, in the recordings
virtualenv); accuracy and false-accept jobs two at a time (one per core, each system in its own
processes); pick PocketSphinx's better mode; then, one system at a time with nothing else of ours
running, start-up, real-time factor and latency at microphone pace.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from voice_skill.knowledge import HEALTH_INTENTS
from voice_skill.matcher import RELIEF

from bench import indonesian, report
from bench.systems import CONTROL_INTENTS, PS_MODES, SYSTEMS

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WORK = BENCH / "work"
AUDIO = WORK / "audio"
RECORDINGS_PYTHON = ROOT / ".venv-recordings" / "bin" / "python"
DEFAULT = "skill-default"
WORKERS = 2  # one job per core; timing is measured later, alone
SHARD = 130  # requests per job at most: small enough to keep both cores busy to the end
PEER_SPEECH_SHARE = 6  # PocketSphinx's false accepts: over this fraction of the ordinary speech (see peer_speech)
FULL = {"voices": None, "conditions": None, "every": 1, "speech_s": None, "latency_runs": 24, "rtf_every": 20}
# Quick: two voices, every third phrase, clean and 10 dB, two minutes of talk, a few latency runs.
QUICK = {"voices": ("piper-joe-fast", "espeak-en-us-f2"), "conditions": ("clean", "babble10", "noise10", "talk10"),
         "every": 3, "speech_s": 120.0, "latency_runs": 5, "rtf_every": None}
# Hands-free: the default's false accepts over all the ordinary speech, and every request from idle in
# the conditions its bars are set in; no peers, no timing (each idea measured in minutes).
HANDS_FREE = {"voices": None, "conditions": ("clean", "babble10", "talk10"), "every": 1, "speech_s": None}
HANDS_FREE_SHARDS = 4
CODE = ("voice_skill", "responses", "bench/systems.py", "bench/measure.py")  # what a job's result depends on


def machine() -> str:
    """e.g. '2-core x86_64, 24 GB, Debian 12, Python 3.11.7', read from this machine."""
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))
    release = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
    system = f"{release.get('NAME', 'Linux').strip(chr(34)).split()[0]} {release.get('VERSION_ID', '').strip(chr(34))}"
    return (f"{os.cpu_count()}-core {platform.machine()}, {round(mem_kb / 1024 ** 2)} GB, {system.strip()}, "
            f"Python {platform.python_version()}")


def code_version() -> str:
    """The commit measured, and whether the working tree differed from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    dirty = git("status", "--porcelain", "--", "voice_skill", "responses", "bench")
    return f"commit {git('rev-parse', '--short', 'HEAD') or 'unknown'}" + (" with uncommitted changes" if dirty else "")


def code_digest() -> str:
    """A digest of the code and data a quality job runs, so a job kept from an earlier run is reused
    only if nothing it depends on has changed since."""
    digest = hashlib.sha256()
    for name in CODE:
        path = ROOT / name
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(ROOT)).encode() + file.read_bytes())
    return digest.hexdigest()[:16]


def ensure_audio() -> None:
    if not RECORDINGS_PYTHON.exists():
        sys.exit("bench: no recordings virtualenv; run bench/setup.sh (make bench does)")
    subprocess.run([str(RECORDINGS_PYTHON), str(BENCH / "make_audio.py"), "--if-stale"], check=True, cwd=ROOT)


def read_tsv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def requests(plan: dict) -> list[dict]:
    rows = read_tsv(AUDIO / "manifest.tsv")
    ids = list(dict.fromkeys(r["id"] for r in rows))[:: plan["every"]]
    keep = [r for r in rows if r["id"] in set(ids)
            and (plan["voices"] is None or r["voice"] in plan["voices"])
            and (plan["conditions"] is None or r["condition"] in plan["conditions"])]
    return [{"path": str(AUDIO / r["path"]), "id": r["id"], "intent": r["intent"], "text": r["text"],
             "voice": r["voice"], "condition": r["condition"], "speech_end_s": float(r["speech_end_s"])} for r in keep]


def ordinary(plan: dict) -> tuple[list[str], float]:
    paths, seconds = [], 0.0
    for row in read_tsv(AUDIO / "ordinary.tsv"):
        if plan["speech_s"] is not None and seconds >= plan["speech_s"]:
            break
        paths.append(str(AUDIO / row["path"]))
        seconds += float(row["seconds"])
    return paths, seconds


def latency_items(items: list[dict], runs: int) -> list[dict]:
    """Clean requests the skill should answer from idle (not controls, not out-of-domain), spread
    evenly over phrases and voices."""
    pool = [i for i in items if i["condition"] == "clean" and i["intent"] not in (*CONTROL_INTENTS, "unknown")]
    by_phrase: dict[str, list[dict]] = defaultdict(list)
    for item in pool:
        by_phrase[item["id"]].append(item)
    rotated = [takes[k % len(takes)] for k, takes in enumerate(by_phrase.values())]  # a new voice each phrase
    picks = np.linspace(0, len(rotated) - 1, min(runs, len(rotated))).round().astype(int)
    return [rotated[k] for k in picks]


def run_job(job: dict, tag: str, parts: Path) -> dict:
    """Run one job in its own process; a job already done with the same input (an interrupted run's)
    is not run again. Timing jobs always run: their figures belong to the moment."""
    parts.mkdir(parents=True, exist_ok=True)
    job_path, out_path = parts / f"{tag}.job.json", parts / f"{tag}.out.json"
    done_before = job_path.exists() and out_path.exists() and job_path.read_text() == json.dumps(job)
    if done_before and job["kind"] == "quality":
        print(f"  kept {tag} (done before, same input)", flush=True)
        return json.loads(out_path.read_text())
    out_path.unlink(missing_ok=True)
    job_path.write_text(json.dumps(job))
    done = subprocess.run([sys.executable, "-m", "bench.measure", str(job_path), str(out_path)],
                          cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"bench job {tag} failed:\n{done.stderr}")
    print(f"  done {tag}", flush=True)
    return json.loads(out_path.read_text())


def measure_quality(systems: tuple[str, ...], items: list[dict], speech: list[str], parts: Path,
                    shards: int | None = None, lead_in_s: float = 0.0) -> dict[str, list[dict]]:
    """Accuracy and false-accept jobs, two processes at a time; the slowest systems go first. Each
    system's work is cut into shards of requests and of talk, so both cores stay busy to the end."""
    shards = shards or -(-len(items) // SHARD)
    jobs: list[tuple[dict, str]] = []
    code = code_digest()
    for name in sorted(systems, key=lambda s: s not in ("vosk-naive", "pocketsphinx-jsgf")):
        talk = peer_speech(speech) if name in PS_MODES else speech
        for k in range(shards):
            job = {"system": name, "kind": "quality", "items": items[k::shards], "paths": list(
                talk[len(talk) * k // shards: len(talk) * (k + 1) // shards]), "code": code}
            if lead_in_s:
                job["lead_in_s"] = lead_in_s
            jobs.append((job, f"{name}.{k}"))
    with ThreadPoolExecutor(WORKERS) as pool:
        outs = list(pool.map(lambda job: run_job(*job, parts), jobs))
    by_system: dict[str, list[dict]] = defaultdict(list)
    for out in outs:
        by_system[out["system"]].append(out)
    return by_system


def peer_speech(speech: list[str]) -> list[str]:
    """PocketSphinx accepts hundreds of times an hour, so a sixth of the hour (one reading of every
    paragraph) measures it as well as the hour would, at a sixth of its slowest part."""
    return speech[: -(-len(speech) // PEER_SPEECH_SHARE)]


def false_accept(system: str, intent: str) -> bool:
    """As the issue defines it: for the skill, a health answer or the relief steps (not its help
    text, counted apart); for a peer, any intent it would answer from idle."""
    return intent in HEALTH_INTENTS if system.startswith("skill") else True


def quality_figures(outs: list[dict]) -> dict:
    items = [item for out in outs for item in out["items"]]
    right: dict[str, list[bool]] = defaultdict(list)
    relief: dict[str, list[bool]] = defaultdict(list)  # the request that matters most, on its own
    for item in items:
        right[item["condition"]].append(item["got"] == item["intent"])
        if item["intent"] == RELIEF:
            relief[item["condition"]].append(item["got"] == RELIEF)
    replies = [a for out in outs for a in out["accepts"]]
    accepts = [a for a in replies if false_accept(outs[0]["system"], a["intent"])]
    seconds = sum(out["seconds"] for out in outs)
    return {"by_condition": {c: (sum(v), len(v)) for c, v in right.items()},
            "relief_by_condition": {c: (sum(v), len(v)) for c, v in relief.items()}, "items": items,
            "accepts": accepts, "replies": replies, "speech_s": seconds,
            "false_accepts_per_hour": len(accepts) / seconds * 3600,
            "rss_mb": max(out["rss_mb"] for out in outs)}


def mean_accuracy(figures: dict) -> float:
    return float(np.mean([ok / n for ok, n in figures["by_condition"].values()]))


def hands_free(lead_in_s: float) -> int:
    """Only the default's hands-free figures: false accepts over the ordinary speech, and accuracy
    from idle in clean, babble10 and talk10 (relief apart); printed, and kept in bench/work/hands-free/."""
    started = time.monotonic()
    out_dir = WORK / "hands-free"
    if RECORDINGS_PYTHON.exists() or not (AUDIO / "stamp").is_file():
        ensure_audio()  # else: recordings made elsewhere (a worktree's link to main's), used as they are
    items = requests(HANDS_FREE)
    speech, speech_s = ordinary(HANDS_FREE)
    print(f"bench: hands-free, {len(items)} requests, {speech_s / 60:.1f} min of ordinary speech, "
          f"lead-in {lead_in_s} s", flush=True)
    outs = measure_quality((DEFAULT,), items, speech, out_dir / "jobs", HANDS_FREE_SHARDS, lead_in_s)[DEFAULT]
    figures = quality_figures(outs)
    lines = [f"hands-free ({code_version()}, lead-in {lead_in_s} s): false accepts {len(figures['accepts'])} in "
             f"{figures['speech_s'] / 60:.1f} min = {figures['false_accepts_per_hour']:.1f}/h"]
    for condition in HANDS_FREE["conditions"]:
        ok, n = figures["by_condition"][condition]
        r_ok, r_n = figures["relief_by_condition"][condition]
        lines.append(f"  {condition:9s} all intents {ok}/{n} = {100 * ok / n:.1f}%   relief {r_ok}/{r_n}")
    lines += [f"  FA {a['intent']} at {a['at_s']} s: {a['heard']!r}" for a in figures["accepts"]]
    lines.append(f"  ({(time.monotonic() - started) / 60:.1f} min)")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "details.json").write_text(json.dumps(figures, indent=1))
    (out_dir / "summary.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines), flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a CI-sized subset, written to bench/work/quick/")
    parser.add_argument("--hands-free", action="store_true",
                        help="only the default's false accepts and accuracy from idle (clean, babble10, talk10)")
    parser.add_argument("--lead-in", type=float, default=0.0, metavar="S",
                        help="with --hands-free: S seconds of a noisy request's background before it")
    args = parser.parse_args()
    if args.hands_free:
        return hands_free(args.lead_in)
    started = time.monotonic()
    plan = QUICK if args.quick else FULL
    out_dir = WORK / "quick" if args.quick else BENCH
    parts = (WORK / "quick" if args.quick else WORK) / "jobs"  # each job's input and output, kept for digging
    ensure_audio()
    items = requests(plan)
    speech, speech_s = ordinary(plan)
    print(f"bench: {len(items)} requests, {speech_s / 60:.1f} min of ordinary speech, {len(SYSTEMS)} systems", flush=True)

    figures = {name: quality_figures(outs) for name, outs in measure_quality(SYSTEMS, items, speech, parts).items()}
    # PocketSphinx's better mode: the higher mean accuracy over all conditions; fewer false accepts breaks a tie.
    ps_mode = max(PS_MODES, key=lambda m: (round(mean_accuracy(figures[m]), 3), -figures[m]["false_accepts_per_hour"]))
    names = {DEFAULT: DEFAULT, "vosk-naive": "vosk-naive", "pocketsphinx": ps_mode,
             "skill-no-early-endpoint": "skill-no-early-endpoint"}

    lat_items = latency_items(items, plan["latency_runs"])
    rtf_items = items[:: plan["rtf_every"]] if plan["rtf_every"] else lat_items
    timings, load = {}, [os.getloadavg()[0]]  # others' work on the machine skews timing: say how busy it was
    for shown, name in names.items():  # one at a time: nothing else of ours competes for the cores
        timings[shown] = run_job({"system": name, "kind": "timing", "rtf_items": rtf_items,
                                  "latency_items": lat_items}, f"{name}.timing", parts)
        load.append(os.getloadavg()[0])

    print("bench: Indonesian (bench/indonesian.py)", flush=True)
    hearing_id = indonesian.for_bench(parts.parent, args.quick)
    summary = {"machine": machine(), "code": code_version(), "default": DEFAULT, "quick": args.quick, "names": names,
               "figures": figures, "timings": timings, "latency_items": lat_items, "ps_mode": ps_mode,
               "requests": len(items), "wall_s": time.monotonic() - started, "load": load, "indonesian": hearing_id}
    report.write(summary, out_dir)
    print(f"bench: wrote {out_dir / 'results.json'}, results.md, results.png in "
          f"{(time.monotonic() - started) / 60:.1f} min", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
