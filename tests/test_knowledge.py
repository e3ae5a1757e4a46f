"""The knowledge base: complete, faithful to the article, and strict about broken edits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, run_cli
from voice_skill import knowledge
from voice_skill.errors import SkillError


def test_every_required_intent_is_present(kb):
    assert set(knowledge.REQUIRED_INTENTS) <= set(kb.entries)


def test_every_source_quote_stands_verbatim_in_the_shared_article(kb):
    # The project's own copy must be the article itself, and every quote must come from it.
    shared = ROOT.parent / "shared" / "source" / "kram-betis-alodokter.txt"
    article = shared.read_text(encoding="utf-8") if shared.exists() else kb.article
    assert kb.article == article
    quotes = [(e.intent, q) for e in kb.entries.values() for q in e.source_quotes]
    assert len(quotes) >= 25
    assert [pair for pair in quotes if pair[1] not in article] == []


def test_health_answers_have_sources_and_both_languages(kb):
    for intent in knowledge.HEALTH_INTENTS:
        entry = kb.entries[intent]
        assert entry.source_quotes, intent
        assert len(entry.lines["en"]) == len(entry.lines["id"]) >= 1, intent
        assert entry.examples["en"] and entry.examples["id"], intent


def test_relief_is_the_articles_five_steps_in_order(kb):
    relief = kb.entries["cramp_relief"]
    assert relief.steps and len(relief.lines["en"]) == 5
    assert "ankle" in relief.lines["en"][0].lower()
    assert "massage" in relief.lines["en"][1].lower()
    assert "paracetamol" in relief.lines["en"][4].lower()
    assert relief.lines["id"][0].startswith("Tekuk pergelangan kaki")


def test_spoken_lines_are_short(kb):
    too_long = [(i, line) for i, e in kb.entries.items() for line in e.lines["en"] if len(line.split()) > 30]
    assert too_long == []


def test_kb_json_lists_every_intent():
    done = run_cli("kb", "--json")
    assert done.returncode == 0, done.stderr
    entries = json.loads(done.stdout)
    assert {e["intent"] for e in entries} == set(knowledge.REQUIRED_INTENTS)
    assert all({"intent", "en", "id", "source_quotes"} <= set(e) for e in entries)


def _copy_kb(tmp_path: Path) -> Path:
    target = tmp_path / "responses"
    shutil.copytree(knowledge.DEFAULT_RESPONSES_DIR, target)
    return target


def test_a_quote_not_in_the_article_is_refused_naming_the_file(tmp_path):
    responses = _copy_kb(tmp_path)
    path = responses / "advice.toml"
    text = path.read_text(encoding="utf-8")
    quote = knowledge.load(responses).entries["prevention"].source_quotes[0]
    path.write_text(text.replace(quote[:40], "Minum jus jeruk setiap pagi " + quote[:12], 1), encoding="utf-8")
    with pytest.raises(SkillError, match=r"advice\.toml.*not found verbatim"):
        knowledge.load(responses)


@pytest.mark.parametrize("breakage, message", [
    ("this is = not [valid toml", "not valid TOML"),
    ('[[entry]]\nintent = "cramp_relief"\nen = ["x"]\nid = []\n', "'id' must not be empty"),
    ('[[entry]]\nintent = "no_such_intent"\n', "unknown intent"),
])
def test_broken_files_give_one_clear_line(tmp_path, breakage, message):
    responses = _copy_kb(tmp_path)
    (responses / "zz-broken.toml").write_text(breakage, encoding="utf-8")
    done = run_cli("ask", "my calf is cramping", "--responses", str(responses))
    assert done.returncode != 0
    assert message in done.stderr and "zz-broken.toml" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_missing_responses_directory_is_one_line(tmp_path):
    done = run_cli("ask", "hello", "--responses", str(tmp_path / "nowhere"))
    assert done.returncode != 0 and len(done.stderr.strip().splitlines()) == 1
    assert "responses directory not found" in done.stderr


def test_aftercare_offers_the_relief_steps_only_as_steps_for_during_a_cramp(kb):
    # The article says of the time after a cramp only that the calf is sore and stiff and the leg weak;
    # massage and a warm compress are what it gives "Saat kram betis muncul" (when a cramp comes on).
    aftercare = kb.entries["aftercare"]
    for lang, during in (("en", "while a cramp is happening"), ("id", "saat kram betis muncul")):
        relief_lines = [line for line in aftercare.lines[lang] if any(w in line.lower() for w in ("massage", "compress", "pijat", "kompres"))]
        assert relief_lines and all(during in line for line in relief_lines), lang
    assert "Saat kram betis muncul, lakukanlah beberapa langkah berikut:" in aftercare.source_quotes
