"""Shipped resources: found installed and frozen, icons the right sizes, style sheet accepted by Qt."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from posapp import resources
from posapp.resources import (
    ICON_SIZES,
    MissingResourceError,
    icon_path,
    load_stylesheet,
    resource_dir,
    resource_path,
)

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication
    from pytestqt.logging import _QtMessageCapture  # what pytest-qt's qtlog fixture returns


def test_resource_path_finds_shipped_files() -> None:
    for name in ("style.qss", "catalog_demo.csv", "icons/posapp.ico", "icons/posapp.svg"):
        path = resource_path(name)
        assert path.is_absolute() and path.is_file() and path.stat().st_size > 0


@pytest.mark.parametrize("name", ["../config.py", "/etc/passwd", "icons/../../errors.py", ""])
def test_resource_names_cannot_escape_the_folder(name: str) -> None:
    with pytest.raises(ValueError, match="relative path"):
        resource_path(name)


def test_missing_resource_says_reinstall() -> None:
    with pytest.raises(MissingResourceError) as info:
        resource_path("icons/nope.png")
    assert "Reinstale" in info.value.user_message
    assert isinstance(info.value, FileNotFoundError)


def test_frozen_bundle_location_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundled = tmp_path / "posapp" / "resources"
    bundled.mkdir(parents=True)
    (bundled / "style.qss").write_text("/* frozen copy */", encoding="utf-8")
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resource_dir() == bundled
    assert resource_path("style.qss") == bundled / "style.qss"
    assert load_stylesheet() == "/* frozen copy */"


def test_frozen_without_resources_falls_back_to_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resource_dir() == Path(resources.__file__).resolve().parent


@pytest.mark.parametrize("size", ICON_SIZES)
def test_png_icons_have_their_nominal_size(size: int) -> None:
    with Image.open(resource_path(f"icons/posapp-{size}.png")) as image:
        assert image.size == (size, size)
        assert image.mode == "RGBA"
        # Rounded corners are transparent, the centre is opaque paper or ink.
        corner, centre = image.getpixel((0, 0)), image.getpixel((size // 2, size // 2))
        assert isinstance(corner, tuple) and isinstance(centre, tuple)  # RGBA: one int per band
        assert corner[3] < 32
        assert centre[3] == 255


def test_icon_path_picks_the_nearest_size_at_or_above() -> None:
    assert icon_path(20).name == "posapp-24.png"
    assert icon_path(256).name == "posapp-256.png"
    assert icon_path(1000).name == "posapp-256.png"
    assert icon_path(fmt="ico").suffix == ".ico"
    with pytest.raises(ValueError):
        icon_path(fmt="bmp")


def test_ico_holds_every_size() -> None:
    with Image.open(icon_path(fmt="ico")) as ico:
        assert {s for s, _ in ico.info["sizes"]} == set(ICON_SIZES)


def test_svg_is_well_formed_and_square() -> None:
    root = ET.parse(icon_path(fmt="svg")).getroot()
    assert root.tag.endswith("svg")
    assert root.get("viewBox") == "0 0 1024 1024"
    assert len(list(root)) >= 5


def test_icons_match_the_generator(tmp_path: Path) -> None:
    """The committed icons are what installer/make_icons.py draws (nobody hand-edited one)."""
    import importlib.util

    script = Path(__file__).resolve().parents[2] / "installer" / "make_icons.py"
    spec = importlib.util.spec_from_file_location("make_icons", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["make_icons.py", str(tmp_path)]) == 0
    for size in (16, 48, 256):
        with Image.open(tmp_path / f"posapp-{size}.png") as fresh, Image.open(icon_path(size)) as shipped:
            assert fresh.tobytes() == shipped.tobytes()
    assert (tmp_path / "posapp.svg").read_text() == icon_path(fmt="svg").read_text()


@pytest.mark.gui
def test_style_sheet_parses_and_styles_the_counter(qapp: QApplication, qtlog: _QtMessageCapture) -> None:
    from PySide6.QtWidgets import QLabel, QWidget

    qapp.setStyleSheet(load_stylesheet())
    try:
        root = QWidget()
        root.setObjectName("counter")
        total = QLabel("R$ 123,45", root)
        total.setObjectName("totalValue")
        badge = QLabel("CONTINGÊNCIA", root)
        badge.setObjectName("statusBadge")
        badge.setProperty("status", "contingency")
        root.ensurePolished()
        total.ensurePolished()
        badge.ensurePolished()
        assert total.font().pixelSize() == 64
        assert total.font().bold()
        assert badge.palette().color(badge.backgroundRole()).name().lower() == "#ffc400"
        messages = [m.message for m in qtlog.records]
        assert not [m for m in messages if "parse" in m.lower() or "stylesheet" in m.lower()], messages
        root.deleteLater()
    finally:
        qapp.setStyleSheet("")
