"""Entry script of the frozen app: PyInstaller runs this file as ``__main__``.

Kept outside the package so the bundle starts exactly like ``python -m posapp`` does
(``posapp.cli.run``) without making ``posapp/__main__.py`` part of the analysis twice.
"""

import sys

from posapp.cli import run

if __name__ == "__main__":
    sys.exit(run())
