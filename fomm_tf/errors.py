"""Typed errors raised by the library; the CLI turns each into one line on stderr.

``InputError`` and its subclasses mean the user gave something unusable (exit code 2);
anything else escaping the library is an internal error (exit code 1).
"""


class FommError(Exception):
    """Base class of every error fomm-tf raises on purpose."""


class InputError(FommError):
    """Bad user input: a missing, unreadable or malformed file, a wrong shape or option."""


class CheckpointError(InputError):
    """A checkpoint that cannot be read safely or does not fit the model config."""


class ConfigError(InputError):
    """A config file or config name that cannot be turned into models."""
