"""Built-in experiments (TOML files shipped in the package) and config loading.

``load_config("circle-l2")`` reads a preset; ``load_config("my.toml")`` a file.
Either way the result is validated, and ``--set`` overrides apply on top.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from nnopt.config import Config, apply_overrides, config_from_dict
from nnopt.config.documents import loads_toml, read_regular_text
from nnopt.errors import ConfigError


def preset_names() -> list[str]:
    """Names of the built-in presets, sorted."""
    files = resources.files("nnopt.config").joinpath("presets").iterdir()
    return sorted(f.name[: -len(".toml")] for f in files if f.name.endswith(".toml"))


def preset_text(name: str) -> str:
    """The TOML text of a preset."""
    if name not in preset_names():
        raise ConfigError(f"unknown preset {name!r}; presets are {', '.join(preset_names())}")
    return resources.files("nnopt.config").joinpath("presets", f"{name}.toml").read_text("utf-8")


def _looks_like_path(spec: str) -> bool:
    return spec.endswith(".toml") or "/" in spec or Path(spec).is_file()


def read_raw(spec: str) -> tuple[dict, str]:
    """The TOML-shaped dict of a preset name or a file path, and a label for errors."""
    if _looks_like_path(spec):
        path = Path(spec)
        try:
            text = read_regular_text(path, f"config file {spec}")
        except FileNotFoundError:
            raise ConfigError(f"config file {spec} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"config file {spec} cannot be read: {exc.__class__.__name__}"
            ) from None
        label = str(path)
    else:
        text, label = preset_text(spec), f"preset {spec}"
    return loads_toml(text, label), label


def load_config(spec: str, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """A validated config from a preset name or TOML file, with ``--set`` overrides applied.

    Example:
      >>> load_config("circle-l2", ["optimizer.name=sgd"]).optimizer.name
      'sgd'
    """
    raw, label = read_raw(spec)
    raw = apply_overrides(raw, list(overrides))
    return config_from_dict(raw, label if not overrides else f"{label} with --set")


def preset_descriptions() -> dict[str, str]:
    """Preset name -> its one-line description."""
    return {name: read_raw(name)[0].get("description", "") for name in preset_names()}


def read_run_config(run_dir) -> Config:
    """The resolved config a run folder was trained with (its ``config.toml``).

    Raises:
      RunDirError: not a run folder, or its config.toml cannot be read.
    """
    from nnopt.config import resolve
    from nnopt.errors import RunDirError

    run_dir = Path(run_dir)
    path = run_dir / "config.toml"
    if not path.is_file():
        raise RunDirError(f"{run_dir} is not a run folder (no config.toml)")
    try:
        text = read_regular_text(path, str(path), RunDirError)
    except (OSError, UnicodeDecodeError) as exc:
        raise RunDirError(f"{path} cannot be read: {exc}") from None
    raw = loads_toml(text, str(path), RunDirError)
    return resolve(config_from_dict(raw, str(path)))
