"""``python -m nnopt``: the nnopt command line."""

import sys

from nnopt.cli.main import main

sys.exit(main())
