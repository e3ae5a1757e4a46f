"""Home Assistant custom integrations: copy voice_skill/ into your config's custom_components/ (or add this
repository to HACS). This file only lets the tests import the folder as Home Assistant does."""
