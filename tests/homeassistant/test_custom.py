"""Route 2: this repository's custom integration (custom_components/voice_skill) against a real
`voice-skill serve`, in Home Assistant 2025.4.4 with its own default agent answering the rest: a
satellite device in the kitchen, a playing media player and a light there."""

from __future__ import annotations

import asyncio
import time

import pytest
from homeassistant.components import conversation
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.components.light import ColorMode, LightEntity
from homeassistant.components.media_player import MediaPlayerEntity, MediaPlayerEntityFeature, MediaPlayerState
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import intent
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry, setup_test_component_platform

from conftest import HOST, speech, start_serve

DOMAIN = "voice_skill"


class Player(MediaPlayerEntity):
    """A kitchen speaker playing music: it counts what Home Assistant asks of it."""

    _attr_name = "Kitchen Speaker"
    _attr_unique_id = "kitchen_speaker"
    _attr_state = MediaPlayerState.PLAYING
    _attr_supported_features = (MediaPlayerEntityFeature.NEXT_TRACK | MediaPlayerEntityFeature.PAUSE
                                | MediaPlayerEntityFeature.PLAY | MediaPlayerEntityFeature.VOLUME_SET)

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def async_media_next_track(self) -> None:
        self.calls.append("next")

    async def async_media_pause(self) -> None:
        self.calls.append("pause")
        self._attr_state = MediaPlayerState.PAUSED


class Light(LightEntity):
    _attr_name = "Kitchen Lights"
    _attr_unique_id = "kitchen_lights"
    _attr_color_mode = ColorMode.ONOFF
    _attr_supported_color_modes = {ColorMode.ONOFF}
    _attr_is_on = False

    async def async_turn_on(self, **kwargs) -> None:
        self._attr_is_on = True
        self.async_write_ha_state()


class Home:
    def __init__(self, hass: HomeAssistant, agent: str, player: Player, satellites: list[str]) -> None:
        self.hass, self.agent, self.player, self.satellites = hass, agent, player, satellites

    async def say(self, text: str, conversation_id: str | None = None, *, device: int = 0, language: str = "en"):
        return await conversation.async_converse(self.hass, text, conversation_id, Context(), language=language,
                                                 agent_id=self.agent, device_id=self.satellites[device])


async def add_skill(hass: HomeAssistant, port: int) -> str:
    """Through the integration's config flow, as a person would; returns the agent's entity id."""
    flow = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {"host": HOST, "port": port})
    assert result["type"] == "create_entry", result
    await hass.async_block_till_done()
    agent = er.async_get(hass).async_get_entity_id("conversation", DOMAIN, f"{result['result'].entry_id}-conversation")
    assert agent is not None
    return agent


@pytest.fixture
async def home(hass: HomeAssistant, enable_custom_integrations, serve) -> Home:
    return await build_home(hass, serve.port)


async def build_home(hass: HomeAssistant, port: int) -> Home:
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    assert await async_setup_component(hass, "intent", {})
    player = Player()
    setup_test_component_platform(hass, "media_player", [player])
    setup_test_component_platform(hass, "light", [Light()])
    assert await async_setup_component(hass, "media_player", {"media_player": {"platform": "test"}})
    assert await async_setup_component(hass, "light", {"light": {"platform": "test"}})
    kitchen = ar.async_get(hass).async_create("Kitchen")
    entities = er.async_get(hass)
    for entity_id in ("media_player.kitchen_speaker", "light.kitchen_lights"):
        entities.async_update_entity(entity_id, area_id=kitchen.id)
        async_expose_entity(hass, "conversation", entity_id, True)
    owner = MockConfigEntry(domain="test")
    owner.add_to_hass(hass)
    devices = dr.async_get(hass)
    satellites = [devices.async_get_or_create(config_entry_id=owner.entry_id, identifiers={("test", name)}, name=name).id
                  for name in ("kitchen satellite", "bedroom satellite")]
    devices.async_update_device(satellites[0], area_id=kitchen.id)
    await hass.async_block_till_done()
    return Home(hass, await add_skill(hass, port), player, satellites)


async def test_continue_conversation_follows_the_skills_dialogue(home, kb):
    steps = kb.lines("cramp_relief", "en")
    first = await home.say("my calf is cramping")
    assert speech(first).startswith(steps[0]) and first.continue_conversation is True
    cid = first.conversation_id
    second = await home.say("next", cid)
    assert speech(second) == steps[1] and second.continue_conversation is True
    for step in steps[2:]:
        reply = await home.say("next", cid)
        assert speech(reply).startswith(step)
    assert reply.continue_conversation is False  # the last step: the steps are over (its offer takes the wake word)
    after = await home.say("yes", cid)
    assert speech(after) == " ".join(kb.lines("prevention", "en")) and after.continue_conversation is False


async def test_stop_a_single_answer_and_out_of_domain_end_it(home, kb):
    first = await home.say("my calf is cramping")
    stopped = await home.say("stop", first.conversation_id)
    assert speech(stopped) == kb.lines("stop", "en")[0] and stopped.continue_conversation is False
    single = await home.say("why do calves cramp")
    assert speech(single) == " ".join(kb.lines("causes", "en")) and single.continue_conversation is False
    outside = await home.say("what is the capital of peru")  # neither the skill's nor Home Assistant's
    assert outside.continue_conversation is False
    assert outside.response.response_type == intent.IntentResponseType.ERROR
    assert speech(outside) == " ".join(kb.lines("unknown", "en"))


async def test_indonesian_by_the_pipeline_language(home, kb):
    reply = await home.say("betis saya kram", language="id")
    assert speech(reply).startswith(kb.lines("cramp_relief", "id")[0]) and reply.continue_conversation
    assert speech(await home.say("lanjut", reply.conversation_id, language="id")) == kb.lines("cramp_relief", "id")[1]


async def test_a_fresh_conversation_and_another_satellite_keep_their_own_dialogues(home, kb):
    steps = kb.lines("cramp_relief", "en")
    kitchen = await home.say("my calf is cramping", device=0)
    bedroom = await home.say("my calf is cramping", device=1)
    assert speech(await home.say("next", kitchen.conversation_id, device=0)) == steps[1]
    assert speech(await home.say("next", kitchen.conversation_id, device=0)) == steps[2]
    assert speech(await home.say("next", bedroom.conversation_id, device=1)) == steps[1]  # its own step 2
    fresh = await home.say("next", device=1)  # a new conversation on the bedroom satellite: no steps there
    assert fresh.conversation_id not in (kitchen.conversation_id, bedroom.conversation_id)
    assert speech(fresh) not in steps and fresh.continue_conversation is False


async def test_next_during_the_steps_is_the_skills_and_leaves_the_player_alone(home, kb):
    first = await home.say("my calf is cramping")
    second = await home.say("next", first.conversation_id)
    assert speech(second) == kb.lines("cramp_relief", "en")[1]
    assert home.player.calls == []


async def test_the_households_commands_still_work(home, kb):
    lights = await home.say("turn on the kitchen lights")
    assert lights.response.response_type == intent.IntentResponseType.ACTION_DONE
    assert home.hass.states.get("light.kitchen_lights").state == "on" and lights.continue_conversation is False
    bare = await home.say("next")  # no steps running: Home Assistant's, the kitchen speaker's next track
    assert home.player.calls == ["next"]
    assert speech(bare) != " ".join(kb.lines("next", "en"))


@pytest.fixture
async def core(hass: HomeAssistant, enable_custom_integrations) -> HomeAssistant:
    """Home Assistant with its conversation agent, before the skill is added."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    return hass


async def test_a_server_down_or_stuck_is_an_error_within_5_s(hass: HomeAssistant, enable_custom_integrations, kb):
    server = start_serve()
    home = await build_home(hass, server.port)
    started = (await home.say("my calf is cramping")).conversation_id
    server.stop()
    begun = time.monotonic()
    down = await home.say("next", started)  # mid-dialogue: the skill's turn, so an error, not the next song
    assert time.monotonic() - begun < 5.0
    assert down.response.response_type == intent.IntentResponseType.ERROR and down.continue_conversation is False
    assert home.player.calls == []
    lights = await home.say("turn on the kitchen lights")  # the household's agent still answers
    assert lights.response.response_type == intent.IntentResponseType.ACTION_DONE

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # takes the transcript, says nothing, until the client goes

    stuck = await asyncio.start_server(never_answer, HOST, server.port)  # the same address, answering nothing
    try:
        begun = time.monotonic()
        reply = await home.say("what is the capital of peru")
        assert time.monotonic() - begun < 5.0
        assert reply.response.response_type == intent.IntentResponseType.ERROR
    finally:
        stuck.close()
        await stuck.wait_closed()


async def test_the_config_flow_says_when_nothing_answers(core: HomeAssistant):
    hass = core
    server = start_serve()
    server.stop()  # its port is now closed
    flow = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {"host": HOST, "port": server.port})
    assert result["type"] == "form" and result["errors"] == {"base": "cannot_connect"}


def _announced(name: str, port: int):
    from ipaddress import ip_address

    from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo

    return ZeroconfServiceInfo(ip_address=ip_address(HOST), ip_addresses=[ip_address(HOST)], port=port,
                               hostname="skill.local.", type="_wyoming._tcp.local.", name=name, properties={})


async def test_zeroconf_finds_the_skill_and_only_the_skill(core: HomeAssistant, serve):
    """What `serve --zeroconf` announces: voice-skill._wyoming._tcp.local. (wyoming.zeroconf)."""
    hass = core
    other = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": "zeroconf"}, data=_announced("piper._wyoming._tcp.local.", serve.port))
    assert other["type"] == "abort" and other["reason"] == "not_a_skill"
    found = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": "zeroconf"}, data=_announced("voice-skill._wyoming._tcp.local.", serve.port))
    assert found["type"] == "form" and found["step_id"] == "zeroconf_confirm"
    done = await hass.config_entries.flow.async_configure(found["flow_id"], {})
    assert done["type"] == "create_entry" and done["data"] == {"host": HOST, "port": serve.port}


class OtherAgent(conversation.AbstractConversationAgent):
    """Another assistant a household might use (an LLM agent, say): it answers everything in one line."""

    @property
    def supported_languages(self) -> list[str]:
        return ["en", "id"]

    async def async_process(self, user_input: conversation.ConversationInput) -> conversation.ConversationResult:
        response = intent.IntentResponse(language=user_input.language)
        response.async_set_speech(f"other agent: {user_input.text}")
        return conversation.ConversationResult(response=response, conversation_id=user_input.conversation_id)


async def test_the_options_pick_the_agent_for_everything_else(home, kb):
    other = MockConfigEntry(domain="test")
    other.add_to_hass(home.hass)
    conversation.async_set_agent(home.hass, other, OtherAgent())
    entry = home.hass.config_entries.async_entries(DOMAIN)[0]
    form = await home.hass.config_entries.options.async_init(entry.entry_id)
    assert form["type"] == "form" and form["step_id"] == "init"
    done = await home.hass.config_entries.options.async_configure(form["flow_id"], {"fallback_agent": other.entry_id})
    assert done["type"] == "create_entry" and entry.options == {"fallback_agent": other.entry_id}
    await home.hass.async_block_till_done()  # reloaded with the new option
    assert speech(await home.say("turn on the kitchen lights")) == "other agent: turn on the kitchen lights"
    assert home.hass.states.get("light.kitchen_lights").state == "off"
    assert speech(await home.say("my calf is cramping")).startswith(kb.lines("cramp_relief", "en")[0])  # still the skill's
    conversation.async_unset_agent(home.hass, other)  # that agent removed: Home Assistant's own again
    assert (await home.say("turn on the kitchen lights")).response.response_type == intent.IntentResponseType.ACTION_DONE
    assert home.hass.states.get("light.kitchen_lights").state == "on"
