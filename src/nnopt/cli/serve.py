"""``nnopt serve``: the browser playground, served from this process.

Module-level imports stay light (the main command line imports this file for every
command); Starlette, uvicorn and JAX load only when the server starts.
"""

from __future__ import annotations

import sys

from nnopt.cli.main import add_cache_flag, start_cache
from nnopt.errors import NnoptError


def register(subparsers) -> None:
    """Adds the ``serve`` sub-command."""
    p = subparsers.add_parser(
        "serve",
        help="the playground: train and race networks live in the browser",
        description="Serve the nnopt playground (a page and a websocket) from this process.",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; any other "
        "address, such as 0.0.0.0 for a class, needs the token in the printed address)",
    )
    p.add_argument(
        "--port", type=int, default=8000, help="port to listen on (default 8000; 0 = any free)"
    )
    p.add_argument("--open", action="store_true", help="open the page in the default browser")
    add_cache_flag(p)
    p.set_defaults(fn=cmd_serve)


def cmd_serve(args) -> int:
    """Serves until Ctrl-C; returns the exit code."""
    if not 0 <= args.port <= 65535:
        raise NnoptError(f"--port {args.port} is out of range: must be 0 to 65535")
    try:
        from nnopt.web.access import Access
        from nnopt.web.server import bind_socket, create_app, make_server, url_of
    except ModuleNotFoundError as exc:
        raise NnoptError(
            f"nnopt serve needs the package {exc.name!r}; reinstall nnopt (pip install nnopt)"
        ) from None
    start_cache(args)
    sock = bind_socket(args.host, args.port)
    access = Access.for_host(args.host)
    url = url_of(sock, access)
    print(f"nnopt playground: {url}  (Ctrl-C stops it)", flush=True)
    if access.token is not None:
        print(
            f"nnopt: note: listening on {args.host}: whoever can reach this machine and has "
            "the address above (its token) can use the playground",
            file=sys.stderr,
        )
    if args.open:
        import webbrowser

        webbrowser.open(url.replace("0.0.0.0", "127.0.0.1"))
    try:
        make_server(create_app(access=access)).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shuts down cleanly, then re-raises Ctrl-C
        pass
    print("nnopt playground stopped", flush=True)
    return 0
