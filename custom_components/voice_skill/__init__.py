"""Calf cramp voice skill: a conversation agent that talks to `voice-skill serve` over Wyoming.

Unlike Home Assistant's own Wyoming agent, it passes the conversation id, the language and the
device (and, where Home Assistant has them, satellite) ids, tells the satellite to listen again
while the skill's dialogue wants a follow-up, and hands what the skill does not take to Home
Assistant's own agent (or one chosen in the options), so the household's commands keep working.
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant

PLATFORMS = [Platform.CONVERSATION]


async def async_setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(entry.add_update_listener(_reload_on_options))
    return True


async def async_unload_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def _reload_on_options(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """A new fallback agent in the options takes effect at once."""
    await hass.config_entries.async_reload(entry.entry_id)
