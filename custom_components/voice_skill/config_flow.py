"""Set-up: host and port by hand, or found by zeroconf where `voice-skill serve --zeroconf` runs;
the options pick the agent that answers what the skill does not take."""

from __future__ import annotations

from typing import Any

import voluptuous as vol
from homeassistant.config_entries import ConfigEntry, ConfigFlow, ConfigFlowResult, OptionsFlow
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import callback
from homeassistant.helpers import selector
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo

from .client import SkillUnavailable, describe
from .const import CONF_FALLBACK_AGENT, DEFAULT_PORT, DOMAIN, HOME_ASSISTANT_AGENT, SERVICE_NAME, TIMEOUT_S

USER_SCHEMA = vol.Schema({vol.Required(CONF_HOST): str, vol.Required(CONF_PORT, default=DEFAULT_PORT): int})


async def _is_the_skill(host: str, port: int) -> str | None:
    """None if a Wyoming handle service answers at host:port, else the error key for the form."""
    try:
        info = await describe(host, port, TIMEOUT_S)
    except SkillUnavailable:
        return "cannot_connect"
    return None if any(program.installed for program in info.handle) else "not_a_skill"


class VoiceSkillConfigFlow(ConfigFlow, domain=DOMAIN):
    VERSION = 1

    def __init__(self) -> None:
        self._discovered: tuple[str, int] | None = None

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            host, port = user_input[CONF_HOST], user_input[CONF_PORT]
            await self.async_set_unique_id(f"{host}:{port}")
            self._abort_if_unique_id_configured()
            if (error := await _is_the_skill(host, port)) is None:
                return self.async_create_entry(title="Calf cramp voice skill", data={CONF_HOST: host, CONF_PORT: port})
            errors["base"] = error
        return self.async_show_form(step_id="user", data_schema=self.add_suggested_values_to_schema(
            USER_SCHEMA, user_input or {}), errors=errors)

    async def async_step_zeroconf(self, discovery_info: ZeroconfServiceInfo) -> ConfigFlowResult:
        """Other Wyoming services announce themselves the same way: only the skill's name is ours."""
        if not discovery_info.name.startswith(f"{SERVICE_NAME}."):
            return self.async_abort(reason="not_a_skill")
        host, port = discovery_info.host, discovery_info.port or DEFAULT_PORT
        await self.async_set_unique_id(f"{host}:{port}")
        self._abort_if_unique_id_configured(updates={CONF_HOST: host, CONF_PORT: port})
        if await _is_the_skill(host, port) is not None:
            return self.async_abort(reason="cannot_connect")
        self._discovered = (host, port)
        self.context["title_placeholders"] = {"name": f"{host}:{port}"}
        return await self.async_step_zeroconf_confirm()

    async def async_step_zeroconf_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        assert self._discovered is not None
        host, port = self._discovered
        if user_input is None:
            return self.async_show_form(step_id="zeroconf_confirm", description_placeholders={"host": host, "port": str(port)})
        return self.async_create_entry(title="Calf cramp voice skill", data={CONF_HOST: host, CONF_PORT: port})

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        return VoiceSkillOptionsFlow()


class VoiceSkillOptionsFlow(OptionsFlow):
    """Which agent answers what the skill does not take (Home Assistant's own, unless chosen)."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        current = self.config_entry.options.get(CONF_FALLBACK_AGENT, HOME_ASSISTANT_AGENT)
        schema = vol.Schema({vol.Required(CONF_FALLBACK_AGENT, default=current): selector.ConversationAgentSelector()})
        return self.async_show_form(step_id="init", data_schema=schema)
