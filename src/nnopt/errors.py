"""The errors nnopt shows to a user.

Every error a user can cause (a bad config, file, argument or request) is an
:class:`NnoptError` whose message is one line naming what is wrong and what is
allowed. The faces (CLI, web) print that line; nothing else is shown.
"""

from __future__ import annotations


class NnoptError(Exception):
    """A user-facing error with a one-line message."""

    def reworded(self, message: str) -> NnoptError:
        """The same error (kind and attributes) with another message: a face naming its own
        flags where the library names config fields."""
        new = self.__class__.__new__(self.__class__)
        new.__dict__.update(self.__dict__)
        new.args = (message,)
        return new


class ConfigError(NnoptError):
    """A config, preset, or ``--set`` override that cannot be used."""


class DataError(NnoptError):
    """A dataset or data file that cannot be used."""


class ParamsError(NnoptError):
    """A parameters file (``--init``) that does not fit the model."""


class RunDirError(NnoptError):
    """A run folder that cannot be created, written, or read."""


class CheckpointError(NnoptError):
    """A checkpoint that is missing, corrupted, or does not fit the config."""


class DivergenceError(NnoptError):
    """Training produced NaN or infinity.

    Attributes:
      step: the number of the update (1-based) whose loss was not finite.
    """

    def __init__(self, message: str, step: int):
        super().__init__(message)
        self.step = step
