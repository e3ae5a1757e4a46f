"""The one error type the user sees: a single clear line, never a traceback."""


class SkillError(Exception):
    """A problem the user can act on; its message is printed as one line."""
