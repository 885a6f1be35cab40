"""PyInstaller runtime hook: runs inside the frozen app before any of its own code.

python-escpos 3.1 pickles its printer database into a fresh ``mkdtemp()`` folder on every
start and never removes it (notes/printing-and-libs.md §2.2); on a till that starts every
morning for years that is thousands of stray folders. Point it at one cache folder.
(posapp.printing.connections, which imports python-escpos on the first usb:/win32: print,
does the same and also removes the empty folder 3.1 still makes; this hook keeps the folder
fixed in the frozen app whoever imports python-escpos first.)
"""

import os
import sys
from pathlib import Path


def _cache_dir() -> Path:
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / "posapp" / "Cache" / "escpos"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "posapp" / "escpos"


if "ESCPOS_CAPABILITIES_PICKLE_DIR" not in os.environ:
    try:
        folder = _cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = str(folder)
    except OSError:
        pass  # a read-only home: python-escpos falls back to its temporary folder
