"""The schema every face shares: frozen dataclass configs, parsed from TOML and ``--set``,
validated against the core's registries, and the built-in presets.

``from nnopt.config import Config, config_from_dict`` keeps working from nnopt 0.1.
"""

from nnopt.config.schema import *  # noqa: F401,F403
