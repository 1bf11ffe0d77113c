"""Export and import: a lane as a TOML file that ``nnopt run`` trains unchanged, and a config
file's text back as page settings (refused when the page has no control for a field)."""

from __future__ import annotations

import dataclasses
import tomllib
from typing import Any

import tomli_w

from nnopt.config import Config, config_from_dict, config_to_dict, resolve
from nnopt.config.documents import check_depth, too_deep
from nnopt.core.features import PLAIN
from nnopt.errors import NnoptError
from nnopt.web.protocol.messages import LIMITS, ProtocolError, show
from nnopt.web.protocol.settings import (
    DATA_FIELDS,
    LANE_FIELDS,
    lane_config_dict,
    parse_setup,
    playground_datasets,
)


def export_toml(config: Config, step: int, uploaded_points: int = 0) -> str:
    """A lane's config as TOML that ``nnopt run`` trains unchanged, for as many steps as shown."""
    raw = config_to_dict(config)
    raw["name"] = "playground"
    raw["description"] = f"exported from nnopt serve at step {step}"
    raw["train"]["steps"] = step if step > 0 else 1000
    raw["train"]["log_every"] = 0  # automatic: about 100 log points
    head = "# Exported from the nnopt playground. Run it with: nnopt run playground.toml\n"
    if uploaded_points:
        head += (
            f"# The playground trained on {uploaded_points} uploaded points; a config cannot name\n"
            "# a CSV file, so [data] below is a generated stand-in.\n"
        )
    return head + tomli_w.dumps(raw)


def settings_from_toml(text: str) -> dict[str, Any]:
    """A config file's text -> ``{"data": ..., "lane": ...}`` page settings.

    Raises:
      ProtocolError: not TOML, not a playground network (2 inputs, the data's outputs), or
        a field the playground has no control for (so the page would silently drop it).
      ConfigError: a field the config layer rejects.
    """
    if len(text) > LIMITS.message_bytes:
        raise ProtocolError(
            f"import: the file is too long; at most {LIMITS.message_bytes} characters"
        )
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(f"import: not valid TOML ({exc})") from None
    except RecursionError:  # tomllib recurses once per level of [[[...]]]
        raise ProtocolError(f"import: {too_deep('the file')}") from None
    check_depth(raw, "import: the file", ProtocolError)
    try:
        config = config_from_dict(raw, "imported config")
    except NnoptError as exc:
        raise type(exc)(f"import: {exc}") from None
    if config.model.name != "mlp" or config.data.name not in playground_datasets():
        raise ProtocolError(
            f"import: data.name = {config.data.name!r} with model.name = {config.model.name!r} "
            "is not a playground setup; the playground trains an mlp on 2-D data"
        )
    data = {key: getattr(getattr(config, s), f) for key, (s, f) in DATA_FIELDS.items()}
    data["inputs"] = list(config.data.inputs or PLAIN)
    if config.data.inputs == PLAIN:  # written out, the columns as they are: the default
        config = config.replace(data=dataclasses.replace(config.data, inputs=()))
    lane = {key: getattr(getattr(config, s), f) for key, (s, f) in LANE_FIELDS.items()}
    lane["hidden"] = list(config.model.layers[1:-1])
    setup = parse_setup({"data": data, "lanes": [lane]})
    rebuilt = config_from_dict(lane_config_dict(setup.data, setup.lanes[0]), "imported config")
    # Resolved on both sides: an exported file spells out the defaults the page leaves unset.
    _check_nothing_lost(config_to_dict(resolve(config)), config_to_dict(resolve(rebuilt)))
    return {"data": setup.data, "lane": setup.lanes[0]}


# Fields an import may set freely: how long and how often to log is the page's business.
_IMPORT_FREE = {("train", "steps"), ("train", "log_every"), ("train", "checkpoint_every")}


def _check_nothing_lost(original: dict, rebuilt: dict) -> None:
    """Raises ProtocolError naming the first field the playground would not reproduce."""
    for section, fields in original.items():
        if not isinstance(fields, dict):
            continue
        for name, value in fields.items():
            if (section, name) in _IMPORT_FREE:
                continue
            mine = rebuilt.get(section, {}).get(name)
            if mine != value:
                shown = show(mine) if mine is not None else "its default"
                raise ProtocolError(
                    f"import: {section}.{name} = {show(value)} has no playground control "
                    f"(the playground uses {shown}); run this file with nnopt run"
                )
