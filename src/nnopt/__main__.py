"""``python -m nnopt``: the nnopt command line."""

from nnopt.cli.main import entry

entry()
