"""The conversation agent: the skill first, the household's agent for what the skill does not take."""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Literal

from homeassistant.components import conversation
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import intent
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.util import ulid as ulid_util
from wyoming.event import Event

from .client import SkillAnswer, SkillUnavailable, converse, transcript_event
from .const import CONF_FALLBACK_AGENT, DOMAIN, HOME_ASSISTANT_AGENT, TIMEOUT_S

_LOGGER = logging.getLogger(__name__)


async def async_setup_entry(hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddEntitiesCallback) -> None:
    async_add_entities([VoiceSkillAgent(entry)])


class VoiceSkillAgent(conversation.ConversationEntity, conversation.AbstractConversationAgent):
    """conversation.voice_skill: a turn goes to the skill; what it does not take, to the fallback agent."""

    _attr_has_entity_name = True
    _attr_name = None  # the device's name: "Calf cramp voice skill"

    def __init__(self, entry: ConfigEntry) -> None:
        self.entry = entry
        self.host: str = entry.data[CONF_HOST]
        self.port: int = entry.data[CONF_PORT]
        self._attr_unique_id = f"{entry.entry_id}-conversation"
        self._attr_device_info = {"identifiers": {(DOMAIN, entry.entry_id)}, "name": entry.title}
        self._in_dialogue = Recent()  # conversation id -> the skill's last answer wanted a follow-up

    @property
    def supported_languages(self) -> list[str] | Literal["*"]:
        # "*": the fallback agent answers a household in any language; the skill itself en and id
        return "*"

    @property
    def fallback_agent(self) -> str:
        chosen = self.entry.options.get(CONF_FALLBACK_AGENT) or HOME_ASSISTANT_AGENT
        return HOME_ASSISTANT_AGENT if chosen == self.entity_id else chosen  # never itself: a loop

    async def async_process(self, user_input: conversation.ConversationInput) -> conversation.ConversationResult:
        conversation_id = user_input.conversation_id or ulid_util.ulid_now()
        try:
            answer = await converse(self.host, self.port, self._transcript(user_input, conversation_id), TIMEOUT_S)
        except SkillUnavailable as error:
            _LOGGER.warning("voice-skill at %s:%s did not answer: %s", self.host, self.port, error)
            return await self._without_the_skill(user_input, conversation_id, f"The calf cramp skill is not answering ({error}).")
        self._in_dialogue.remember(conversation_id, answer.continue_conversation)
        if answer.handled and not answer.command_without_dialogue:
            response = intent.IntentResponse(language=user_input.language)
            response.async_set_speech(answer.text)
            return conversation.ConversationResult(response=response, conversation_id=conversation_id,
                                                   continue_conversation=answer.continue_conversation)
        return await self._fall_back(user_input, conversation_id, answer)

    async def _without_the_skill(self, user_input: conversation.ConversationInput, conversation_id: str,
                                 problem: str) -> conversation.ConversationResult:
        """The server is down or stuck. Mid-dialogue the turn was the skill's ("next" must not skip a
        song): say so. Otherwise the household's agent still answers what it can."""
        if self._in_dialogue.get(conversation_id):
            return _error(user_input, conversation_id, problem)
        return await self._fall_back(user_input, conversation_id, SkillAnswer(handled=False, text=problem))

    @staticmethod
    def _transcript(user_input: conversation.ConversationInput, conversation_id: str) -> Event:
        ids = {"conversation_id": conversation_id, "device_id": user_input.device_id,
               # Home Assistant releases after 2025.4 name the satellite too
               "satellite_id": getattr(user_input, "satellite_id", None)}
        return transcript_event(user_input.text, user_input.language, ids)

    async def _fall_back(self, user_input: conversation.ConversationInput, conversation_id: str,
                         answer: SkillAnswer) -> conversation.ConversationResult:
        """Not the skill's (or a bare "next" with no steps running): the household's agent answers.
        If it has nothing either, the skill's own words are the answer."""
        agent = self.fallback_agent
        if conversation.async_get_agent(self.hass, agent) is None:  # the chosen agent was removed since
            _LOGGER.warning("conversation agent %s not found; using Home Assistant's own", agent)
            agent = HOME_ASSISTANT_AGENT
        result = await conversation.async_converse(
            self.hass, user_input.text, conversation_id, user_input.context, language=user_input.language,
            agent_id=agent, device_id=user_input.device_id)
        response = result.response
        if response.response_type == intent.IntentResponseType.ERROR and response.error_code in (
                intent.IntentResponseErrorCode.NO_INTENT_MATCH, intent.IntentResponseErrorCode.NO_VALID_TARGETS):
            if answer.handled:  # "next" with no steps and no media player: the skill's "no step" line
                return _speech(user_input, conversation_id, answer.text)
            return _error(user_input, conversation_id, answer.text or response.speech.get("plain", {}).get("speech", ""),
                          intent.IntentResponseErrorCode.FAILED_TO_HANDLE)
        return conversation.ConversationResult(response=response, conversation_id=conversation_id,
                                               continue_conversation=result.continue_conversation)


class Recent:
    """The last few conversations' flags, bounded: a household has a few satellites."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._flags: OrderedDict[str, bool] = OrderedDict()

    def remember(self, key: str, flag: bool) -> None:
        self._flags.pop(key, None)
        self._flags[key] = flag
        while len(self._flags) > self.size:
            self._flags.popitem(last=False)

    def get(self, key: str) -> bool:
        return self._flags.get(key, False)


def _speech(user_input: conversation.ConversationInput, conversation_id: str, text: str) -> conversation.ConversationResult:
    response = intent.IntentResponse(language=user_input.language)
    response.async_set_speech(text)
    return conversation.ConversationResult(response=response, conversation_id=conversation_id)


def _error(user_input: conversation.ConversationInput, conversation_id: str, text: str,
           code: intent.IntentResponseErrorCode = intent.IntentResponseErrorCode.UNKNOWN
           ) -> conversation.ConversationResult:
    response = intent.IntentResponse(language=user_input.language)
    response.async_set_error(code, text)
    return conversation.ConversationResult(response=response, conversation_id=conversation_id)
