"""``python -m posapp``."""

import sys

from posapp.cli import run

sys.exit(run())
