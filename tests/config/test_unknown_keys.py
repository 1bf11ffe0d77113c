"""An unknown key in a config is named in one line, whatever characters the key holds."""

from __future__ import annotations

import pytest

from nnopt.config import config_from_dict
from nnopt.errors import ConfigError


@pytest.mark.parametrize(
    "data, named",
    [
        ({"lr": 1}, "unknown field data.lr;"),
        ({"\n": False}, "unknown field data.'\\n';"),  # found by tests/outputs' fuzzing
        ({"a b": 1}, "unknown field data.'a b';"),
    ],
)
def test_an_unknown_field_is_named_on_one_line(data, named):
    with pytest.raises(ConfigError) as err:
        config_from_dict({"data": data})
    message = str(err.value)
    assert named in message and "\n" not in message, message
