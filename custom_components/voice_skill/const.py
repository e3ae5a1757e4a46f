"""Constants of the voice_skill integration."""

DOMAIN = "voice_skill"
DEFAULT_PORT = 10510
# `voice-skill serve --zeroconf` announces itself under this name (voice_skill/server.py PROGRAM)
SERVICE_NAME = "voice-skill"
# A turn, connection included, is answered within this or Home Assistant gets an error response (or,
# outside a dialogue, its own agent's answer): a satellite must never wait on a server that is down or
# stuck. `serve` answers in milliseconds (bench/server.py); 3 s leaves 2 s of a 5 s budget for the
# household's agent.
TIMEOUT_S = 3.0
CONF_FALLBACK_AGENT = "fallback_agent"
HOME_ASSISTANT_AGENT = "conversation.home_assistant"  # Home Assistant's own agent (its sentences)
