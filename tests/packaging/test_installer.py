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


def _install(
    bundle: Path, stage: Path, *args: str, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "POSAPP_INSTALL_ROOT": str(stage), **(env_extra or {})}
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


class _CaseSensitiveParser(configparser.ConfigParser):
    def optionxform(self, optionstr: str) -> str:
        return optionstr  # desktop entry keys are case-sensitive


def test_desktop_entry() -> None:
    parser = _CaseSensitiveParser(interpolation=None, strict=True)
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


_UDEV_TOKEN = re.compile(r'^[A-Z]+(\{[A-Za-z_]+\})?(==|\+=|=)"[^"]*"$')


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


def test_cdc_acm_printers_are_hidden_from_modemmanager() -> None:
    lines = (INSTALLER / "linux" / "60-posapp-printers.rules").read_text(encoding="utf-8").splitlines()
    tty_rules = [line for line in lines if line.startswith('SUBSYSTEM=="tty"')]
    assert tty_rules
    assert all('ENV{ID_MM_DEVICE_IGNORE}="1"' in rule for rule in tty_rules)


def test_install_refuses_while_posapp_runs(tmp_path: Path) -> None:
    """A process really named ``posapp`` (a copy of sleep) is running: no upgrade, no
    uninstall, unless --force."""
    sleeper = tmp_path / "bin" / "posapp"
    sleeper.parent.mkdir()
    shutil.copy(shutil.which("sleep") or "/bin/sleep", sleeper)
    stage = tmp_path / "root"
    bundle = _fake_bundle(tmp_path, "2.0.0")
    check = {"POSAPP_INSTALL_CHECK_RUNNING": "1"}
    running = subprocess.Popen([str(sleeper), "60"])
    try:
        refused = _install(bundle, stage, "--no-groups", env_extra=check)
        assert refused.returncode != 0
        assert "o posapp está aberto" in refused.stderr and "--force" in refused.stderr
        assert not (stage / "opt" / "posapp").exists()
        forced = _install(bundle, stage, "--no-groups", "--force", env_extra=check)
        assert forced.returncode == 0, forced.stderr
        assert (stage / "opt" / "posapp" / "posapp").read_text().endswith("posapp 2.0.0\n")
        no_uninstall = _install(bundle, stage, "--uninstall", env_extra=check)
        assert no_uninstall.returncode != 0 and (stage / "opt" / "posapp").exists()
    finally:
        running.terminate()
        running.wait(timeout=10)


def test_install_warns_when_brltty_is_installed(tmp_path: Path) -> None:
    fake_bin = tmp_path / "fakebin"
    fake_bin.mkdir()
    brltty = fake_bin / "brltty"
    brltty.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    brltty.chmod(0o755)
    path = f"{fake_bin}{os.pathsep}{os.environ.get('PATH', '')}"
    result = _install(
        _fake_bundle(tmp_path, "2.0.0"), tmp_path / "root", "--no-groups", env_extra={"PATH": path}
    )
    assert result.returncode == 0, result.stderr
    assert "brltty" in result.stderr and "CH340" in result.stderr
    clean = _install(_fake_bundle(tmp_path, "2.0.1"), tmp_path / "root2", "--no-groups")
    assert "brltty" not in clean.stderr or shutil.which("brltty") is not None


def test_build_script_reads_the_linker_cache_without_a_pipe(tmp_path: Path) -> None:
    """``ldconfig -p | grep -q`` under ``pipefail`` fails when grep quits early (SIGPIPE).
    Run the script's own cache-reading lines against a fake ldconfig with a long cache."""
    script = (INSTALLER / "build-linux.sh").read_text(encoding="utf-8")
    code = [line for line in script.splitlines() if not line.lstrip().startswith("#")]
    assert not any("ldconfig -p |" in line for line in code)
    start = script.index('LDCACHE="$(mktemp)"')
    end = script.index("\nif ! grep -q", start)
    probe = script[start:end] + (
        "\ngrep -q 'libxcb-icccm.so.4' \"$LDCACHE\""
        " && grep -q 'libxcb-keysyms.so.1' \"$LDCACHE\" && echo FOUND\n"
    )
    fake_bin = tmp_path / "fakebin"
    fake_bin.mkdir()
    ldconfig = fake_bin / "ldconfig"
    ldconfig.write_text(
        "#!/bin/sh\necho '\tlibxcb-icccm.so.4 (libc6,x86-64) => /lib/libxcb-icccm.so.4'\n"
        "echo '\tlibxcb-keysyms.so.1 (libc6,x86-64) => /lib/libxcb-keysyms.so.1'\n"
        "i=0; while [ $i -lt 20000 ]; do\n"
        'echo "\tlibfiller$i.so.1 => /lib/libfiller$i.so.1"; i=$((i+1)); done\n',
        encoding="utf-8",
    )
    ldconfig.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + probe],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "FOUND"
