"""The playground's protocol, validated and turned into config dicts (pure: no I/O).

- :mod:`~nnopt.web.protocol.messages`: the message kinds, their fields and caps;
- :mod:`~nnopt.web.protocol.settings`: the page's settings, defaults, menus and lane configs;
- :mod:`~nnopt.web.protocol.transfer`: Export (TOML) and Import;
- :mod:`~nnopt.web.protocol.upload`: uploaded CSV points.

The page and the server speak JSON over one websocket. The page sends settings in its own
small vocabulary (``hidden``, ``optimizer``, ``learning_rate`` ...); the checks turn them
into the TOML-shaped dict of an ordinary config and let
:func:`nnopt.config.config_from_dict` check the values. Every problem is a
:class:`ProtocolError` (or a :class:`~nnopt.errors.ConfigError`) whose one-line message
names the bad field and what is allowed. Nothing from the page is ever executed.

Messages from the page (``type`` and its fields):

==========  ===================================================================
setup       ``data`` {name, noise, test_fraction, seed, n_samples, inputs},
            ``lanes`` [{hidden, activation, init, loss, the loss's numbers, optimizer,
            learning_rate, schedule, decay_rate, decay_steps, staircase, ema,
            ema_decay, num_updates, ema_order, bias, regularizer, reg_scale,
            batch_size, seed}],
            ``selected`` (the lane the network view shows); missing fields take
            :data:`DATA_DEFAULTS` / :data:`LANE_DEFAULTS`
play        train continuously; ``pause`` stops; ``reset`` restarts from step 0
step        ``chunks``: run that many chunks of :data:`CHUNK` updates, then stop
speed       ``value``: one of :data:`SPEEDS`
view        ``weights`` ("raw", "ema" or "both") and/or ``selected`` (a lane index)
export      the selected lane as TOML and its weights as ``--init`` JSON
import      ``toml``: a config file's text, answered with the settings it holds
edit        ``lane``, ``name`` (``w2``, ``b1`` ...), ``index`` and ``value``: one weight or
            bias of a lane's raw parameters set (at most ``LIMITS.edit_magnitude``)
drawn       the page drew a snapshot (the exact text ``{"type":"drawn"}``; the server
            sends a page that acknowledges at most four snapshots after its last drawn frame)
==========  ===================================================================
"""

from nnopt.web.protocol.lecture import lecture_experiments  # noqa: F401
from nnopt.web.protocol.messages import *  # noqa: F401,F403
from nnopt.web.protocol.messages import __all__ as _messages
from nnopt.web.protocol.settings import *  # noqa: F401,F403
from nnopt.web.protocol.settings import __all__ as _settings
from nnopt.web.protocol.transfer import export_toml, settings_from_toml  # noqa: F401
from nnopt.web.protocol.upload import parse_points_csv  # noqa: F401

__all__ = [
    *_messages, *_settings, "export_toml", "settings_from_toml", "parse_points_csv",
    "lecture_experiments",
]  # fmt: skip
