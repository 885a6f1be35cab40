"""The installer files: shell scripts parse, install.sh really installs (into a staging root),
the menu entry and the udev rule are well formed, the spec compiles."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INSTALLER = ROOT / "installer"
ICONS = ROOT / "posapp" / "resources" / "icons"


@pytest.mark.parametrize(
    "script", ["build-linux.sh", "smoke-test.sh", "linux/install.sh"], ids=lambda s: s.replace("/", "-")
)
def test_shell_scripts_parse_and_are_executable(script: str) -> None:
    path = INSTALLER / script
    subprocess.run(["bash", "-n", str(path)], check=True)
    assert path.stat().st_mode & stat.S_IXUSR, f"{script} must be executable (git keeps the bit)"
    assert path.read_text(encoding="utf-8").startswith("#!/usr/bin/env bash\n")


def test_spec_compiles() -> None:
    source = (INSTALLER / "posapp.spec").read_text(encoding="utf-8")
    compile(source, "posapp.spec", "exec")
    assert 'collect_data_files("escpos")' in source  # the frozen app dies without it


def _fake_bundle(tmp_path: Path, version: str) -> Path:
    """The folder build-linux.sh produces, with a stand-in executable."""
    bundle = tmp_path / f"bundle-{version}" / "posapp"
    (bundle / "_internal").mkdir(parents=True)
    exe = bundle / "posapp"
    exe.write_text(f"#!/bin/sh\necho posapp {version}\n", encoding="utf-8")
    exe.chmod(0o755)
    (bundle / "VERSION").write_text(version + "\n", encoding="utf-8")
    share = bundle / "share"
    (share / "icons").mkdir(parents=True)
    shutil.copy(INSTALLER / "linux" / "posapp.desktop", share)
    shutil.copy(INSTALLER / "linux" / "60-posapp-printers.rules", share)
    for icon in [*ICONS.glob("posapp-*.png"), ICONS / "posapp.svg"]:
        shutil.copy(icon, share / "icons")
    shutil.copy(INSTALLER / "linux" / "install.sh", bundle / "install.sh")
    return bundle


def _install(bundle: Path, stage: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "POSAPP_INSTALL_ROOT": str(stage)}
    env.pop("SUDO_USER", None)
    return subprocess.run(
        ["bash", str(bundle / "install.sh"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_install_upgrade_and_uninstall_in_a_staging_root(tmp_path: Path) -> None:
    stage = tmp_path / "root"
    first = _install(_fake_bundle(tmp_path, "1.0.0"), stage, "--user", "caixa1", "--prefix", "/opt/pdv")
    assert first.returncode == 0, first.stderr
    app = stage / "opt" / "pdv"
    assert (app / "posapp").read_text().endswith("posapp 1.0.0\n")
    assert not (app / "install.sh").exists()
    link = stage / "usr" / "local" / "bin" / "posapp"
    assert os.readlink(link) == "/opt/pdv/posapp"  # points into the real prefix, not the stage
    desktop = (stage / "usr" / "share" / "applications" / "posapp.desktop").read_text(encoding="utf-8")
    assert "Exec=/opt/pdv/posapp\n" in desktop and "Exec=/opt/pdv/posapp demo\n" in desktop
    assert "/opt/posapp" not in desktop
    icons = stage / "usr" / "share" / "icons" / "hicolor"
    for size in (16, 48, 256):
        assert (icons / f"{size}x{size}" / "apps" / "posapp.png").is_file()
    assert (icons / "scalable" / "apps" / "posapp.svg").is_file()
    rule = stage / "etc" / "udev" / "rules.d" / "60-posapp-printers.rules"
    assert rule.read_bytes() == (INSTALLER / "linux" / "60-posapp-printers.rules").read_bytes()
    assert "caixa1" in first.stdout and "lp e dialout" in first.stdout

    second = _install(_fake_bundle(tmp_path, "1.1.0"), stage, "--user", "caixa1", "--prefix", "/opt/pdv")
    assert second.returncode == 0, second.stderr
    assert (app / "posapp").read_text().endswith("posapp 1.1.0\n")
    assert not (stage / "opt" / "pdv.old").exists() and not (stage / "opt" / "pdv.new").exists()

    gone = _install(tmp_path / "bundle-1.1.0" / "posapp", stage, "--uninstall", "--prefix", "/opt/pdv")
    assert gone.returncode == 0, gone.stderr
    assert not app.exists() and not link.is_symlink() and not rule.exists()
    assert not (icons / "48x48" / "apps" / "posapp.png").exists()
    assert "vendas" in gone.stdout  # tells the technician the sales were kept


def test_install_without_a_user_warns_about_printer_access(tmp_path: Path) -> None:
    result = _install(_fake_bundle(tmp_path, "1.0.0"), tmp_path / "root")
    assert result.returncode == 0
    assert "--user" in result.stderr


def test_install_refuses_outside_a_bundle(tmp_path: Path) -> None:
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    shutil.copy(INSTALLER / "linux" / "install.sh", lonely)
    result = _install(lonely, tmp_path / "root")
    assert result.returncode != 0
    assert "pasta do posapp" in result.stderr


def test_desktop_entry() -> None:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(INSTALLER / "linux" / "posapp.desktop", encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Exec"] == "/opt/posapp/posapp"
    assert entry["Icon"] == "posapp"
    assert entry["Terminal"] == "false"
    assert entry["Categories"].endswith(";")
    assert "NFC-e" in entry["Comment[pt_BR]"]
    for action in filter(None, entry["Actions"].split(";")):
        assert parser[f"Desktop Action {action}"]["Exec"].startswith("/opt/posapp/posapp ")


_UDEV_TOKEN = re.compile(r'^[A-Z]+(\{[A-Za-z]+\})?(==|\+=|=)"[^"]*"$')


def test_udev_rules_are_well_formed() -> None:
    lines = (INSTALLER / "linux" / "60-posapp-printers.rules").read_text(encoding="utf-8").splitlines()
    rules = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert len(rules) >= 5
    for rule in rules:
        tokens = [t.strip() for t in rule.split(", ")]
        assert all(_UDEV_TOKEN.match(t) for t in tokens), rule
        assert any(t.startswith(("GROUP=", "MODE=")) for t in tokens), rule
        for vendor in re.findall(r'idVendor\}=="([^"]*)"', rule):
            assert re.fullmatch(r"[0-9a-f]{4}", vendor), rule
        group = re.search(r'GROUP="([^"]*)"', rule)
        assert group and group.group(1) in {"lp", "dialout"}, rule
    text = "\n".join(rules)
    for vendor in ("04b8", "0b1b", "20d1"):  # Epson, Bematech, Elgin
        assert f'"{vendor}"' in text
    assert 'SUBSYSTEM=="usbmisc", KERNEL=="lp[0-9]*"' in text


def test_inno_setup_script_references_existing_files() -> None:
    iss = (INSTALLER / "windows" / "posapp.iss").read_text(encoding="utf-8")
    assert re.search(r"AppId=\{\{[0-9A-F-]{36}\}", iss)
    assert "posappw.exe" in iss  # the Start menu opens the windowed executable
    for source in re.findall(r'(?:Source|SetupIconFile):? "?([^";\n]+)', iss):
        if source.startswith("..\\..\\dist"):
            continue  # produced by the build
        assert (INSTALLER / "windows" / source.replace("\\", "/")).resolve().exists(), source


def test_printer_notes_cover_the_common_brazilian_models() -> None:
    notes = (INSTALLER / "windows" / "PRINTERS.md").read_text(encoding="utf-8")
    for model in ("Elgin i9", "Bematech MP-4200 TH", "Epson TM-T20", "Daruma", "Tanca"):
        assert model in notes
    for topic in ("Zadig", "WinUSB", "win32:", "serial:", "tcp:"):
        assert topic in notes
