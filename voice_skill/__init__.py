"""An offline voice skill that talks a person through a calf cramp."""

__version__ = "0.1.0"
