"""`voice-skill model fetch`: get the Vosk model, from the first source that answers.

1. The official Vosk download (what a machine on the open internet gets), with a short timeout so
   an offline machine moves on at once instead of hanging.
2. Alpha Cephei's Android package of the same model on Maven Central (com.alphacephei:vosk-model-en,
   an AAR, i.e. a zip with the model under assets/), through the local Maven repository or `mvn`.

What arrives is unpacked into a temporary folder, checked (the files a model needs, and Vosk loads
it), and only then moved into models/, so a failed fetch never leaves a half model behind.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

from voice_skill.errors import SkillError
from voice_skill.recognizer import DEFAULT_MODEL_NAME, PROJECT_MODELS_DIR, is_model_dir, load_model

OFFICIAL_URL = "https://alphacephei.com/vosk/models/{name}.zip"
MAVEN_ARTIFACT = ("com.alphacephei", "vosk-model-en", "0.3.45")  # carries vosk-model-small-en-us-0.15
MAVEN_MODEL_PREFIX = "assets/model-en-us/"
NETWORK_TIMEOUT_S = 10


def fetch(target_dir: Path = PROJECT_MODELS_DIR, name: str = DEFAULT_MODEL_NAME, log=print) -> Path:
    """Put the model at target_dir/name and return its path; SkillError if no source worked."""
    destination = target_dir / name
    if is_model_dir(destination):
        log(f"model already present: {destination}")
        return destination
    target_dir.mkdir(parents=True, exist_ok=True)
    failures = []
    for source, getter in (("official download", _from_official), ("Maven Central", _from_maven)):
        log(f"trying {source} ...")
        with tempfile.TemporaryDirectory(dir=target_dir) as work:
            try:
                archive = getter(Path(work), name, log)
                model = _unpack(archive, Path(work) / "unpacked")
                _verify(model)
            except (OSError, SkillError, zipfile.BadZipFile, subprocess.SubprocessError) as error:
                failures.append(f"{source}: {_one_line(error)}")
                log(f"  {failures[-1]}")
                continue
            shutil.move(str(model), str(destination))
        log(f"model ready: {destination}")
        return destination
    raise SkillError("could not fetch the Vosk model (" + "; ".join(failures) + ")")


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


def _one_line(error: BaseException) -> str:
    text = str(getattr(error, "reason", "") or error) or type(error).__name__
    return text.splitlines()[0]


def main_log(message: str = "", end: str = "\n") -> None:
    print(message, end=end, file=sys.stderr, flush=True)
