"""What a valid config means that its user may not expect: notes a face says once.

The core computes what it is asked to; a face (the command line) prints these notes on
stderr before training, so that a config which does something surprising but legal says so.
"""

from __future__ import annotations

from nnopt.config.schema import Config


def notices(config: Config) -> tuple[str, ...]:
    """The notes for one config, each one line (none for most configs).

    Example:
      >>> from nnopt.config.presets import load_config
      >>> notices(load_config("circle", ["loss.name=cross_entropy",
      ...                                "model.output_activation=sigmoid"]))[0][:60]
      "loss.name = 'cross_entropy' on one sigmoid output is the lec"
    """
    found = []
    m, lo = config.model, config.loss
    if lo.name == "cross_entropy" and m.name == "mlp" and m.layers[-1] == 1:
        found.append(
            f"loss.name = 'cross_entropy' on one {m.output_activation} output is the lecture's "
            "formula as written, -mean(y_·log(y)): only rows with label 1 count, so it pushes "
            "every output toward 1; for two-sided binary cross entropy use "
            "loss.name = 'binary_cross_entropy'"
        )
    return tuple(found)


def notices_of(configs) -> tuple[str, ...]:
    """The distinct notes of many configs (a sweep), each once, in first-seen order."""
    return tuple(dict.fromkeys(note for config in configs for note in notices(config)))
