"""Configs from TOML-shaped dicts and ``--set`` overrides, and back.

``--set section.field=value`` overrides one field; ``--grid section.field=v1,v2`` (and a
file's ``[sweep]`` table) lists values to try. Every problem is a
:class:`~nnopt.errors.ConfigError` whose one line names the field, the bad value and what is
allowed.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from typing import Any

from nnopt.config.documents import check_depth, too_deep
from nnopt.config.schema import (
    OTHER_TABLES,
    SECTIONS,
    TOP_LEVEL,
    Config,
    SweepConfig,
    section_fields,
)
from nnopt.config.validate import show_value, validate
from nnopt.errors import ConfigError

# ---------------------------------------------------------------- types


def _type_name(tp) -> str:
    if tp is int:
        return "an integer"
    if tp is float or tp == (float | None):
        return "a number"
    if tp is bool or tp == (bool | None):
        return "true or false"
    if tp is str:
        return "a string"
    if tp == tuple[str, ...]:
        return "a list of column names"
    return "a list of integers"


def _coerce(where: str, value: Any, tp) -> Any:
    """The value as the field's type, or a ConfigError naming what was expected."""
    ok = False
    if tp is bool or tp == (bool | None):
        ok = isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp is float or tp == (float | None):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok:
            value = float(value)
    elif tp is str:
        ok = isinstance(value, str)
    elif tp == tuple[str, ...]:
        if isinstance(value, str):  # --set data.features=x0,x1 needs no TOML quoting
            value = [v.strip() for v in value.split(",")] if value.strip() else []
        ok = isinstance(value, (list, tuple)) and all(isinstance(v, str) and v for v in value)
        if ok:
            value = tuple(value)
    else:  # tuple[int, ...]
        ok = isinstance(value, (list, tuple)) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        )
        if ok:
            value = tuple(value)
    if not ok:
        raise ConfigError(f"{where} = {show_value(value)} must be {_type_name(tp)}")
    return value


# ---------------------------------------------------------------- parsing


def config_from_dict(raw: dict[str, Any], source: str = "config") -> Config:
    """Builds and validates a Config from a TOML-shaped dict.

    Raises:
      ConfigError: an unknown section or field, a wrong type, or a value out of range.
    """
    sections = {}
    top = {}
    for key, value in raw.items():
        if key in OTHER_TABLES:
            continue
        if key in TOP_LEVEL:
            top[key] = _coerce(key, value, str)
        elif key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: [{key}] must be a table of fields")
            sections[key] = _section_from_dict(key, value, source)
        else:
            allowed = ", ".join(list(TOP_LEVEL) + [f"[{s}]" for s in (*SECTIONS, *OTHER_TABLES)])
            raise ConfigError(f"{source}: unknown section or key {key!r}; allowed: {allowed}")
    config = Config(**top, **sections)
    validate(config)
    return config


def _key(section: str, name: str) -> str:
    """``section.name`` as a message names it: quoted when the name is not a plain word (a
    TOML key may hold a newline, which must not break the one-line error)."""
    return f"{section}.{name}" if name.isidentifier() else f"{section}.{name!r}"


def _section_from_dict(section: str, values: dict[str, Any], source: str):
    types = section_fields(section)
    kwargs = {}
    for name, value in values.items():
        if name not in types:
            raise ConfigError(
                f"{source}: unknown field {_key(section, name)}; [{section}] has {', '.join(types)}"
            )
        kwargs[name] = _coerce(f"{section}.{name}", value, types[name])
    return SECTIONS[section](**kwargs)


def parse_override(text: str, flag: str = "--set") -> tuple[str, str, Any]:
    """``section.field=value`` -> (section, field, value); the value is read as TOML.

    A value that is not valid TOML is taken as a string, so ``optimizer.name=adam``
    needs no quotes. ``flag`` names the option in error messages.
    """
    if "=" not in text:
        raise ConfigError(
            f"{flag} {text!r}: expected section.field=value, e.g. optimizer.name=adam"
        )
    path, _, value_text = text.partition("=")
    path = path.strip()
    if path in TOP_LEVEL:
        return "", path, value_text.strip()
    section, dot, name = path.partition(".")
    if not dot or section not in SECTIONS:
        raise ConfigError(
            f"{flag} {text!r}: unknown section {section!r}; sections are {', '.join(SECTIONS)}"
        )
    types = section_fields(section)
    if name not in types:
        raise ConfigError(
            f"{flag} {text!r}: unknown field {path}; [{section}] has {', '.join(types)}"
        )
    try:
        value = tomllib.loads(f"v = {value_text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = value_text.strip()
    except RecursionError:  # tomllib recurses once per level of [[[...]]]
        raise ConfigError(too_deep(f"{flag} {path}")) from None
    check_depth(value, f"{flag} {path}")
    if types[name] is str and not isinstance(value, str):
        value = value_text.strip()
    return section, name, value


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """A copy of the TOML-shaped dict with every ``--set`` override applied."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in raw.items()}
    for text in overrides:
        section, name, value = parse_override(text)
        if not section:
            out[name] = value
        else:
            if not isinstance(out.get(section, {}), dict):
                raise ConfigError(f"--set {text!r}: [{section}] is not a table in the config")
            out.setdefault(section, {})[name] = value
    return out


def config_to_dict(config: Config) -> dict[str, Any]:
    """The TOML-shaped dict of a config (unset optimizer numbers are left out)."""
    out: dict[str, Any] = {"name": config.name}
    if config.description:
        out["description"] = config.description
    for section in SECTIONS:
        values = dataclasses.asdict(getattr(config, section))
        out[section] = {
            k: (list(v) if isinstance(v, tuple) else v) for k, v in values.items() if v is not None
        }
    return out


# ---------------------------------------------------------------- sweeps


def split_values(text: str) -> list[str]:
    """``a,b,[1,2],c`` -> ``["a", "b", "[1,2]", "c"]``: commas inside brackets or quotes stay."""
    parts, depth, quote, current = [], 0, "", ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        current += ch
    parts.append(current.strip())
    return parts


def parse_grid(texts: list[str], flag: str = "--grid") -> dict[str, list[Any]]:
    """``["optimizer.name=sgd,adam", ...]`` -> ``{"optimizer.name": ["sgd", "adam"], ...}``.

    Raises:
      ConfigError: no ``=``, an unknown field, an empty value list, or a field given twice.
    """
    grid: dict[str, list[Any]] = {}
    for text in texts:
        if "=" not in text:
            raise ConfigError(f"{flag} {text!r}: expected section.field=v1,v2,...")
        path, _, values_text = text.partition("=")
        path = path.strip()
        if path in grid:
            raise ConfigError(f"{flag} {path} is given twice; put all its values in one {flag}")
        values = [v for v in split_values(values_text) if v != ""]
        if not values:
            raise ConfigError(f"{flag} {path}: no values; expected {path}=v1,v2,...")
        grid[path] = [parse_override(f"{path}={v}", flag)[2] for v in values]
    return grid


def sweep_from_raw(raw: dict, source: str) -> SweepConfig:
    """The ``[sweep]`` table of a TOML-shaped dict (empty when there is none).

    Raises:
      ConfigError: the table, its grid or its seeds are not what ``nnopt sweep`` reads.
    """
    table = raw.get("sweep", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [sweep] must be a table with grid and seeds")
    unknown = sorted(set(table) - {"grid", "seeds"})
    if unknown:
        raise ConfigError(
            f"{source}: unknown field {_key('sweep', unknown[0])}; [sweep] has grid, seeds"
        )
    file_grid = table.get("grid", {})
    if not isinstance(file_grid, dict):
        raise ConfigError(f"{source}: sweep.grid must be a table of field = [values]")
    texts = []
    for name, values in file_grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{source}: sweep.grid.{name!r} must be a non-empty list of values")
        texts.append(f"{name}=" + ",".join(json.dumps(v) for v in values))
    grid = parse_grid(texts, flag="sweep.grid")
    seeds = table.get("seeds", 1)
    if not isinstance(seeds, int) or isinstance(seeds, bool):
        raise ConfigError(f"{source}: sweep.seeds = {seeds!r} must be an integer")
    return SweepConfig({k: tuple(v) for k, v in grid.items()}, seeds)
