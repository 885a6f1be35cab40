"""Files the app ships with: icons, the counter style sheet, the demo catalog.

They are package data (``pyproject.toml`` ships ``resources/**/*``), so they sit next to
this module in a source checkout and in an installed wheel. A PyInstaller bundle unpacks
them under ``sys._MEIPASS``; :func:`resource_path` looks there first, so callers never
need to know how the app was installed.
"""

from __future__ import annotations

import sys
from pathlib import Path, PurePosixPath

from posapp.errors import PosappError

__all__ = [
    "ICON_SIZES",
    "MissingResourceError",
    "icon_path",
    "load_stylesheet",
    "resource_dir",
    "resource_path",
]

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)
# Where the bundle puts this folder, relative to sys._MEIPASS (see installer/posapp.spec).
_FROZEN_SUBDIR = PurePosixPath("posapp/resources")


class MissingResourceError(PosappError, FileNotFoundError):
    """A resource the app expects is not installed: a broken install or packaging bug."""


def resource_dir() -> Path:
    """The folder that holds the resources, in a bundle or in a normal install."""
    bundle_root = getattr(sys, "_MEIPASS", None)
    if bundle_root is not None:
        frozen = Path(bundle_root).joinpath(*_FROZEN_SUBDIR.parts)
        if frozen.is_dir():
            return frozen
    return Path(__file__).resolve().parent


def resource_path(name: str) -> Path:
    """Absolute path of the resource ``name`` (``"style.qss"``, ``"icons/posapp-32.png"``).

    ``name`` is always written with ``/``; a name that would leave the resource folder
    (``..``, absolute paths) is refused, and a missing file raises
    :class:`MissingResourceError` so a broken bundle fails loudly at the first use.
    """
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise ValueError(f"resource name must be a relative path inside the resources: {name!r}")
    path = resource_dir().joinpath(*relative.parts)
    if not path.is_file():
        raise MissingResourceError(
            f"resource not found: {name} (looked in {path.parent})",
            user_message=f"Arquivo do programa ausente: {name}. Reinstale o posapp.",
        )
    return path


def icon_path(size: int = 256, *, fmt: str = "png") -> Path:
    """The app icon: ``fmt`` ``"png"`` (nearest size at or above ``size``), ``"ico"`` or ``"svg"``."""
    if fmt in ("ico", "svg"):
        return resource_path(f"icons/posapp.{fmt}")
    if fmt != "png":
        raise ValueError(f"unknown icon format: {fmt!r}")
    best = next((s for s in ICON_SIZES if s >= size), ICON_SIZES[-1])
    return resource_path(f"icons/posapp-{best}.png")


def load_stylesheet() -> str:
    """The high-contrast counter theme (``style.qss``), ready for ``QApplication.setStyleSheet``."""
    return resource_path("style.qss").read_text(encoding="utf-8")
