"""Recorded files to transcripts: one model and one recogniser serve a whole batch, and a file
that can't be read costs only its own answer."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from voice_skill.audio_in import file_chunks
from voice_skill.errors import SkillError
from voice_skill.knowledge import KnowledgeBase
from voice_skill.recognizer import Utterances, open_recognizer


class FileListener:
    def __init__(self, recognizer: Utterances, channels: Sequence[int] | None = None) -> None:
        self.recognizer = recognizer
        self.channels = channels  # 0-based, which of each recording's channels to hear; None: all

    @classmethod
    def open(cls, model_path: Path | None, kb: KnowledgeBase | None, lang: str = "en",
             channels: Sequence[int] | None = None) -> "FileListener":
        """Load the language's model; with a knowledge base, steered by it, else free speech."""
        return cls(open_recognizer(lang, kb, model_path), channels)

    def transcribe(self, path: Path | str) -> str:
        try:
            return self.recognizer.transcribe(file_chunks(path, self.channels))
        except SkillError:
            self.recognizer.reset()  # drop whatever a half-read file left in the decoder
            raise

    def reread(self, path: Path | str) -> str:
        """The recording read again without the grammar's garbage model (see Recognizer.reread)."""
        return self._again(path, self.recognizer.reread) or ""

    def hear_freely(self, path: Path | str) -> str | None:
        """The recording decoded again with no grammar, for a second opinion (see Recognizer.hear_freely)."""
        return self._again(path, self.recognizer.hear_freely)

    def spoken_s(self) -> float | None:
        """How long the speech of the recording last transcribed ran (see Recognizer.spoken_s)."""
        return self.recognizer.spoken_s()

    def _again(self, path: Path | str, decode: Callable[[Iterable[bytes]], str | None]) -> str | None:
        try:
            return decode(file_chunks(path, self.channels))
        except SkillError:
            return None  # transcribe has already said what is wrong with the file

    def transcribe_all(self, paths: Iterable[str]) -> Iterator[tuple[str, str | None, str | None]]:
        """(file as given, transcript or None, one-line error or None), in input order."""
        for name in paths:
            try:
                yield name, self.transcribe(name), None
            except SkillError as error:
                yield name, None, str(error)
