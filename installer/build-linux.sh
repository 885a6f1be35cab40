#!/usr/bin/env bash
# Build the Linux bundle of posapp from a checkout:
#   dist/posapp/                              one-folder app; the executable is dist/posapp/posapp
#   dist/posapp-VERSION-linux-ARCH.tar.gz     the folder, compressed, plus its .sha256
#
#   bash installer/build-linux.sh            # works on a fresh clone: sets up .venv itself
#   PYTHON=/path/to/python bash installer/build-linux.sh    # or build with that interpreter
#
# Without $PYTHON it runs scripts/bootstrap (creates or updates .venv with posapp and its
# "dev" extra, which includes the extras the bundle ships: "usb" for usb: printers without
# usblp, "sim" for the simulators' DANFE PDFs in `posapp demo`), then builds with .venv.
# A $PYTHON given must already have them: pip install -e ".[usb,sim]".
# The build tools pinned in installer/requirements-build.txt are installed into it if missing.
# Takes about 40 s on 2 cores (plus a few minutes for the first bootstrap). Build on the
# oldest distribution you support: the bundle needs the glibc of the build machine or newer.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

started=$(date +%s)
PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
    echo "==> development environment (scripts/bootstrap)"
    bash scripts/bootstrap
    PY=.venv/bin/python
fi

echo "==> build tools ($("$PY" --version))"
if ! "$PY" -c 'import PyInstaller' >/dev/null 2>&1; then
    "$PY" -m pip install --quiet --disable-pip-version-check -r installer/requirements-build.txt
fi
"$PY" - <<'PYEOF'
import importlib.util
import sys

needed = {
    "runtime": ["PySide6", "qasync", "pydantic", "httpx", "serial", "pypdfium2", "PIL",
                "platformdirs", "keyring", "segno"],
    "extra usb": ["escpos", "usb", "libusb_package"],
    "extra sim": ["reportlab"],
    "build": ["PyInstaller"],
}
missing = [f"{name} ({part})" for part, names in needed.items() for name in names
           if importlib.util.find_spec(name) is None]
if missing:
    sys.exit(f"faltam dependências neste Python: {', '.join(missing)} (rode: pip install -e "
             "'.[usb,sim]' -r installer/requirements-build.txt, ou rode sem PYTHON=...)")
PYEOF

# Qt's xcb platform plugin links two X libraries that a minimal system lacks; they must be
# present here to be bundled, or the GUI would not start on a till without them.
XCB_PACKAGES=(libxcb-icccm4 libxcb-keysyms1)
# The cache goes to a file first: `ldconfig -p | grep -q` lets grep exit at the first hit,
# ldconfig then dies of SIGPIPE and pipefail reports the library as missing.
LDCACHE="$(mktemp)"
trap 'rm -f "$LDCACHE"' EXIT
LDCONFIG="$(command -v ldconfig || echo /sbin/ldconfig)"  # not on a normal user's PATH on Debian
"$LDCONFIG" -p >"$LDCACHE" 2>/dev/null || true
if ! grep -q 'libxcb-icccm.so.4' "$LDCACHE" || ! grep -q 'libxcb-keysyms.so.1' "$LDCACHE"; then
    if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "==> installing ${XCB_PACKAGES[*]} (bundled with Qt's xcb plugin)"
        apt-get install -y -qq --no-install-recommends "${XCB_PACKAGES[@]}" >/dev/null \
            || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${XCB_PACKAGES[@]}" >/dev/null; }
    else
        echo "WARNING: libxcb-icccm.so.4 / libxcb-keysyms.so.1 not found; install ${XCB_PACKAGES[*]}" >&2
        echo "         or the bundle's GUI will need them on every till." >&2
    fi
fi

VERSION="$("$PY" -c 'import sys; sys.path.insert(0, "."); import posapp; print(posapp.__version__)')"
ARCH="$(uname -m)"
ARCHIVE="dist/posapp-$VERSION-linux-$ARCH.tar.gz"

echo "==> freezing posapp $VERSION"
rm -rf dist/posapp "$ARCHIVE" "$ARCHIVE.sha256" build/pyinstaller
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller installer/posapp.spec

echo "==> adding the Linux installer files"
install -m 0755 installer/linux/install.sh dist/posapp/install.sh
install -m 0644 installer/linux/LEIA-ME.txt dist/posapp/LEIA-ME.txt
install -D -m 0644 installer/linux/posapp.desktop dist/posapp/share/posapp.desktop
install -D -m 0644 installer/linux/60-posapp-printers.rules dist/posapp/share/60-posapp-printers.rules
mkdir -p dist/posapp/share/icons
install -m 0644 posapp/resources/icons/posapp-*.png posapp/resources/icons/posapp.svg dist/posapp/share/icons/
printf '%s\n' "$VERSION" > dist/posapp/VERSION

echo "==> checking the bundle"
[[ -x dist/posapp/posapp ]] || { echo "dist/posapp/posapp is missing" >&2; exit 1; }
[[ -f dist/posapp/_internal/escpos/capabilities.json ]] || { echo "escpos data is missing" >&2; exit 1; }
[[ -f dist/posapp/_internal/posapp/resources/style.qss ]] || { echo "posapp resources are missing" >&2; exit 1; }
if find dist/posapp -xtype l | grep -q .; then
    echo "dangling symlinks in the bundle:" >&2; find dist/posapp -xtype l >&2; exit 1
fi
reported="$(QT_QPA_PLATFORM=offscreen dist/posapp/posapp --version)"
[[ "$reported" == "posapp $VERSION" ]] || { echo "unexpected --version: $reported" >&2; exit 1; }

echo "==> compressing"
tar -C dist --owner=0 --group=0 --numeric-owner -czf "$ARCHIVE" posapp
(cd dist && sha256sum "$(basename "$ARCHIVE")" > "$(basename "$ARCHIVE").sha256")

elapsed=$(( $(date +%s) - started ))
echo "==> done in ${elapsed}s"
echo "    folder:  dist/posapp ($(du -sh dist/posapp | cut -f1))"
echo "    archive: $ARCHIVE ($(du -h "$ARCHIVE" | cut -f1))"
