"""The browser playground (``nnopt serve``): a face over the training engine.

- :mod:`nnopt.web.protocol`: the messages between page and server, validated and turned
  into config dicts (pure, no I/O);
- :mod:`nnopt.web.session`: one tab's race of trainings and the snapshots it streams;
- :mod:`nnopt.web.server`: the Starlette app (page, websocket, CSV upload) on uvicorn;
- :mod:`nnopt.cli.serve`: the ``serve`` sub-command;
- ``static/``: the page itself (vanilla JS and canvas, no build step, no CDN).
"""
