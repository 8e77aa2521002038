"""inplay's errors: one base class, one subclass per kind of thing that can be wrong.

Every message names what is wrong and what to do about it; the CLI prints it as one
``error:`` line (``--debug`` or ``INPLAY_DEBUG=1`` for the traceback).
"""

from __future__ import annotations


class InplayError(RuntimeError):
    """Base of every error inplay raises on purpose (catch this to catch them all)."""


class ConfigError(InplayError):
    """A setting is missing or wrong. The message names the setting and says what to do."""


class DataError(InplayError):
    """Input data is missing, unreadable or not what it should be (names the file)."""


class ModelError(InplayError):
    """A model file is missing, corrupt or does not fit the data it is asked to score."""


class BrokerError(InplayError):
    """The Kafka cluster cannot be used: unreachable, refused the login, or lost its topics."""
