"""``python -m nnopt.cli``: the nnopt command line."""

from nnopt.cli.main import entry

entry()
