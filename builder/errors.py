"""The one error a build stops with: it says what was wrong, where, and what to do."""


class BuildError(Exception):
    """The input cannot be built into a release; the message names the file and place."""
