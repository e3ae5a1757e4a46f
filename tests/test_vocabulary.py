"""A language is data: the words live in responses/<lang>/vocabulary.toml, none in the code.

These load real copies of responses/ and the real matcher; nothing is stood in for.
"""

from __future__ import annotations

import ast
import re
import shutil
import tomllib
from pathlib import Path

import pytest

from conftest import ROOT
from voice_skill import knowledge, vocabulary
from voice_skill.conversation import Conversation
from voice_skill.errors import SkillError
from voice_skill.for_us import understand
from voice_skill.matcher import Matcher

CODE = ROOT / "voice_skill"


def vocabulary_words() -> set[str]:
    """Every word in every language's vocabulary file, and every answer's keywords."""
    words: set[str] = set()
    for path in knowledge.DEFAULT_RESPONSES_DIR.glob("*/vocabulary.toml"):
        for name, value in tomllib.loads(path.read_text(encoding="utf-8")).items():
            if name == "sounds":  # letters and how they sound, not words
                continue
            items = [*value.items()] if isinstance(value, dict) else [(item,) for item in value]
            words |= {word for item in items for text in item for word in text.lower().split()}
    for entry in knowledge.load().entries.values():
        words |= {word for lang in entry.keywords for k in entry.keywords[lang] for word in k.lower().split()}
    return words


# What the code must name, not vocabulary: intents, languages, the dialogue's lines, the word lists.
NAMES = {*knowledge.REQUIRED_INTENTS, *knowledge.LANGUAGES, *knowledge.DIALOGUE_KEYS, *vocabulary.WORD_LISTS}


def vocabulary_in(source: str, vocabulary: set[str]) -> list[str]:
    """String constants (docstrings aside) made only of vocabulary words: a word list or a phrase."""
    tree = ast.parse(source)
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)}
    # Attribute names (getattr(error, "reason")), separators (" and ".join) and the text of messages
    # (f"... {x} is not one") are not words the skill understands.
    names = {id(node.args[1]) for node in ast.walk(tree) if isinstance(node, ast.Call) and len(node.args) > 1
             and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr")}
    names |= {id(node.func.value) for node in ast.walk(tree) if isinstance(node, ast.Call)
              and isinstance(node.func, ast.Attribute) and node.func.attr == "join"}
    names |= {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings | names:
            text = node.value.strip().lower()
            words = text.split()
            if (re.fullmatch(r"[a-z' ]+", text) and text not in NAMES
                    and all(word in vocabulary for word in words)):
                found.append(f"line {node.lineno}: {node.value.strip()[:60]!r}")
    return found


def test_no_vocabulary_remains_in_the_code():
    vocabulary = vocabulary_words()
    found = {path.name: hits for path in sorted(CODE.glob("*.py"))
             if (hits := vocabulary_in(path.read_text(encoding="utf-8"), vocabulary))}
    assert found == {}


def test_the_check_finds_a_word_list_put_back_in_the_code():
    vocabulary = vocabulary_words()
    old_code = '''
"""A module."""
ACCEPT_WORDS = frozenset("yes yeah yep sure okay ok please ya iya boleh mau oke".split())
LEG_WORDS = ["calf", "calves", "leg", "betis", "kaki"]
def hears_a_cramp(word):
    return word == "kram"
'''
    assert len(vocabulary_in(old_code, vocabulary)) == 7  # the list, the five legs, "kram"


def copy_responses(tmp_path: Path) -> Path:
    target = tmp_path / "responses"
    shutil.copytree(knowledge.DEFAULT_RESPONSES_DIR, target)
    return target


def add_words(responses: Path, lang: str, name: str, *words: str) -> None:
    """Append words to one list of a vocabulary file, as someone editing it would."""
    path = responses / lang / "vocabulary.toml"
    text = path.read_text(encoding="utf-8")
    opening = re.search(rf"^{name} = \[", text, re.MULTILINE)
    assert opening, name
    added = "".join(f'"{w}", ' for w in words)
    path.write_text(text[:opening.end()] + added + text[opening.end():], encoding="utf-8")


def test_a_word_added_to_a_vocabulary_file_changes_matching(tmp_path):
    # A hamstring cramp is not a calf cramp: listed as another body part, it is none of our business.
    before = Matcher(knowledge.load())
    assert before.match("my hamstring is cramping").intent == "cramp_relief"
    responses = copy_responses(tmp_path)
    add_words(responses, "en", "other_body_parts", "hamstring")
    after = Matcher(knowledge.load(responses))
    assert after.match("my hamstring is cramping").intent == "unknown"
    assert after.match("my calf is cramping").intent == "cramp_relief"


def test_a_word_added_to_the_indonesian_file_changes_the_hands_free_start_rule(tmp_path):
    # "Kaki saya ketarik" (my leg is pulling tight): from idle, the leg alone is not enough to start,
    # until the vocabulary says "ketarik" is a cramp; then leg and cramp together state the complaint.
    text = "kaki saya ketarik"
    assert understand(text, Matcher(knowledge.load()), active=False) is None
    responses = copy_responses(tmp_path)
    add_words(responses, "id", "cramp_itself", "ketarik")
    found = understand(text, Matcher(knowledge.load(responses)), active=False)
    assert found is not None and found[0] == text and found[1].intent == "cramp_relief"


def test_a_word_added_to_accept_takes_up_the_offer_of_advice(tmp_path):
    responses = copy_responses(tmp_path)
    add_words(responses, "id", "accept", "sip")
    for kb, expected in ((knowledge.load(), False), (knowledge.load(responses), True)):
        conversation = Conversation(kb, "id")
        conversation.hear("betis saya kram")
        for _ in kb.lines("cramp_relief", "id")[1:]:
            conversation.hear("lanjut")
        assert conversation.dialogue.offered_prevention
        reply = conversation.hear("sip").reply
        assert (reply.lines == kb.lines("prevention", "id")) is expected


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("filler = [", "fillers = ["), "unknown list 'fillers'"),
    (lambda t: re.sub(r"(?ms)^accept = \[.*?\]\n", "", t), "missing accept"),
    (lambda t: t.replace("calf_or_leg = [", "calf_or_leg = [3, "), "'calf_or_leg' must be a list of words"),
    (lambda t: t.replace("calf_or_leg = [", 'calf_or_leg = ["calf", '), "'calf_or_leg' lists 'calf' twice"),
    (lambda t: t.replace("calf_or_leg = [", 'calf_or_leg = ["  ", '), "'calf_or_leg' must be a list of words"),
    (lambda t: t.replace('legs = "leg"', 'legs = "limb"\nlimb = "leg"'), "maps 'legs' to a word that is itself mapped"),
    (lambda t: t + "\nthis is not toml\n", "not valid TOML"),
    (lambda t: t.replace("[sounds]", '[sounds]\n"p h" = "f"'), "[sounds] must map letters"),
    (lambda t: t.replace("[sounds]\n", ""), "missing sounds"),
])
def test_a_broken_vocabulary_file_is_refused_naming_the_file_and_the_problem(tmp_path, edit, message):
    responses = copy_responses(tmp_path)
    path = responses / "en" / "vocabulary.toml"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(SkillError, match=re.escape(message)) as raised:
        knowledge.load(responses)
    assert str(path) in str(raised.value)


def test_a_missing_vocabulary_file_is_refused(tmp_path):
    responses = copy_responses(tmp_path)
    (responses / "id" / "vocabulary.toml").unlink()
    with pytest.raises(SkillError, match=r"id/vocabulary\.toml: missing"):
        knowledge.load(responses)
