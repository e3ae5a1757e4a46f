"""Route 1: Home Assistant 2025.4.4's own `wyoming` integration (with the wyoming 1.5.4 its manifest
pins), set up through its config flow for a real `voice-skill serve`, turns sent through
`conversation.async_converse`. That wyoming sends only the text: no conversation id, no language."""

from __future__ import annotations

from importlib.metadata import version

import pytest
from homeassistant.components import conversation
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import intent
from homeassistant.setup import async_setup_component

from conftest import HOST, speech

AGENT = "conversation.voice_skill"  # the entity the integration names after the handle program


def test_the_versions_the_issue_names():
    """A newer wyoming would send the context 2025.4.4 never sends, and these tests would pass falsely."""
    assert version("homeassistant") == "2025.4.4" and version("wyoming") == "1.5.4"


@pytest.fixture
async def agent(hass: HomeAssistant, serve) -> str:
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    result = await hass.config_entries.flow.async_init(
        "wyoming", context={"source": "user"}, data={"host": HOST, "port": serve.port})
    assert result["type"] == "create_entry", result
    await hass.async_block_till_done()
    assert conversation.async_get_agent(hass, AGENT) is not None
    return AGENT


async def say(hass: HomeAssistant, text: str, conversation_id: str | None = None, language: str = "en"):
    return await conversation.async_converse(hass, text, conversation_id, Context(), language=language, agent_id=AGENT)


async def test_next_in_the_same_conversation_gives_step_2(hass, agent, kb):
    steps = kb.lines("cramp_relief", "en")
    first = await say(hass, "my calf is cramping")
    assert speech(first).startswith(steps[0])
    second = await say(hass, "next", first.conversation_id)
    assert speech(second) == steps[1]
    assert speech(await say(hass, "stop", first.conversation_id)) == kb.lines("stop", "en")[0]


async def test_indonesian_with_the_pipeline_language_id_is_answered_in_indonesian(hass, agent, kb):
    reply = await say(hass, "betis saya kram", language="id")
    assert speech(reply).startswith(kb.lines("cramp_relief", "id")[0])
    assert speech(await say(hass, "lanjut", reply.conversation_id, language="id")) == kb.lines("cramp_relief", "id")[1]
    await say(hass, "stop", reply.conversation_id, language="id")


async def test_out_of_domain_is_an_error_with_the_skills_text(hass, agent, kb):
    reply = await say(hass, "turn on the kitchen lights")
    assert reply.response.response_type == intent.IntentResponseType.ERROR
    assert reply.response.error_code == intent.IntentResponseErrorCode.FAILED_TO_HANDLE
    assert speech(reply) == " ".join(kb.lines("unknown", "en"))
