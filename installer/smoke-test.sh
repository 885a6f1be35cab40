#!/usr/bin/env bash
# Smoke test of the frozen Linux bundle, the way CI runs it after build-linux.sh:
#   1. `posapp --version`;
#   2. `posapp sim emites` in the background (port written to a file);
#   3. `posapp doctor` against that simulator (must exit 0);
#   4. one `posapp nfce emit examples/sale.json` to a file: printer (JSON status
#      "authorized", receipt file not empty);
#   5. that DANFE again in raster mode, from the PDF the simulator made (reportlab, the
#      "sim" extra, is in the bundle; pypdfium2 renders it): GS v 0 bands in the file;
#   6. that DANFE to a usb: printer that is not plugged in: the answer must be "não
#      encontrada" (python-escpos, pyusb and libusb are in the bundle and load), not a
#      missing package;
#   7. stop the simulator;
#   8. `posapp demo` (the GUI, offscreen) is still alive after a few seconds.
# Everything runs offscreen, with HOME and the XDG folders in a temporary directory, so the
# test neither needs a display nor touches the user's configuration, sales or logs.
#
#   bash installer/smoke-test.sh [path/to/posapp]      (default dist/posapp/posapp)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APP="${1:-$ROOT/dist/posapp/posapp}"
APP="$(cd "$(dirname "$APP")" && pwd)/$(basename "$APP")"
SALE="$ROOT/examples/sale.json"
[[ -x "$APP" ]] || { echo "no executable at $APP (run installer/build-linux.sh first)" >&2; exit 1; }
[[ -f "$SALE" ]] || { echo "missing $SALE" >&2; exit 1; }

WORK="$(mktemp -d)"
SIM_PID=""
cleanup() {
    if [[ -n "$SIM_PID" ]] && kill -0 "$SIM_PID" 2>/dev/null; then
        kill "$SIM_PID" 2>/dev/null || true
        wait "$SIM_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

export QT_QPA_PLATFORM=offscreen
export HOME="$WORK/home"
export XDG_CONFIG_HOME="$WORK/home/.config" XDG_DATA_HOME="$WORK/home/.local/share"
export XDG_STATE_HOME="$WORK/home/.local/state" XDG_CACHE_HOME="$WORK/home/.cache"
mkdir -p "$HOME" "$WORK/data"

now_ms() { date +%s%3N; }
fail() { echo "SMOKE FAIL: $*" >&2; exit 1; }

echo "==> 1. --version"
t0=$(now_ms)
version="$("$APP" --version)"
t1=$(now_ms)
[[ "$version" == posapp\ * ]] || fail "--version printed: $version"
echo "    $version (start-up $((t1 - t0)) ms)"

echo "==> 2. Emites-Client simulator"
"$APP" sim emites --host 127.0.0.1 --port 0 --port-file "$WORK/port" > "$WORK/sim.log" 2>&1 &
SIM_PID=$!
for _ in $(seq 1 200); do
    [[ -s "$WORK/port" ]] && break
    kill -0 "$SIM_PID" 2>/dev/null || { cat "$WORK/sim.log" >&2; fail "the simulator exited"; }
    sleep 0.1
done
[[ -s "$WORK/port" ]] || fail "the simulator did not write its port within 20 s"
PORT="$(tr -dc '0-9' < "$WORK/port")"
echo "    listening on 127.0.0.1:$PORT (pid $SIM_PID)"

cat > "$WORK/posapp.toml" <<TOML
[emites]
host = "127.0.0.1"
port = $PORT
connect_timeout_s = 3

[printer]
uri = "file:$WORK/doctor-printer.bin"
# A raster till keeps the issuer's DANFE PDF in its journal (a native one keeps only the XML),
# so step 5 can reprint it from the PDF: the bundle's reportlab, pypdfium2 and Pillow at work.
mode = "raster"
TOML

echo "==> 3. doctor"
t0=$(now_ms)
set +e
"$APP" doctor --config "$WORK/posapp.toml" --data-dir "$WORK/data" > "$WORK/doctor.txt" 2>&1
doctor_rc=$?
set -e
t1=$(now_ms)
sed 's/^/    /' "$WORK/doctor.txt"
[[ $doctor_rc -eq 0 ]] || fail "doctor exited with $doctor_rc"
grep -q "Emites-Client" "$WORK/doctor.txt" || fail "doctor did not check Emites-Client"
echo "    doctor: exit 0 in $((t1 - t0)) ms"

echo "==> 4. nfce emit to a file: printer"
t0=$(now_ms)
set +e
"$APP" nfce emit "$SALE" --data-dir "$WORK/data" --config "$WORK/posapp.toml" \
    --emites "127.0.0.1:$PORT" --printer "file:$WORK/receipt.bin" --json > "$WORK/emit.json" 2> "$WORK/emit.err"
emit_rc=$?
set -e
t1=$(now_ms)
cat "$WORK/emit.json"
[[ -s "$WORK/emit.err" ]] && sed 's/^/    stderr: /' "$WORK/emit.err"
[[ $emit_rc -eq 0 ]] || fail "nfce emit exited with $emit_rc"
status="$(sed -n 's/.*"status": *"\([a-z_]*\)".*/\1/p' "$WORK/emit.json" | head -n 1)"
[[ "$status" == "authorized" ]] || fail "JSON status is '$status', expected 'authorized'"
[[ -s "$WORK/receipt.bin" ]] || fail "the receipt file is empty or missing"
[[ "$(head -c 2 "$WORK/receipt.bin" | od -An -tx1 | tr -d ' \n')" == "1b40" ]] \
    || fail "the receipt does not start with ESC @"
echo "    authorized in $((t1 - t0)) ms; receipt $(wc -c < "$WORK/receipt.bin") bytes"

echo "==> 5. raster DANFE from the simulator's PDF (reportlab + pypdfium2)"
CHAVE="$(sed -n 's/.*"chave_acesso": *"\([0-9]*\)".*/\1/p' "$WORK/emit.json" | head -n 1)"
[[ -n "$CHAVE" ]] || fail "no chave_acesso in the emit JSON"
"$APP" print danfe --chave "$CHAVE" --data-dir "$WORK/data" --mode raster \
    --printer "file:$WORK/raster.bin" > "$WORK/raster.txt" 2>&1 \
    || { sed 's/^/    /' "$WORK/raster.txt" >&2; fail "raster print failed (no DANFE PDF from the simulator?)"; }
LC_ALL=C grep -qa $'\x1dv0' "$WORK/raster.bin" || fail "the raster receipt has no GS v 0 image"
echo "    raster receipt $(wc -c < "$WORK/raster.bin") bytes"

echo "==> 6. usb: printer (python-escpos + pyusb + libusb), none plugged in"
set +e
"$APP" print danfe --chave "$CHAVE" --data-dir "$WORK/data" --printer usb:ffff:fffe > "$WORK/usb.txt" 2>&1
usb_rc=$?
set -e
sed 's/^/    /' "$WORK/usb.txt"
[[ $usb_rc -ne 0 ]] || fail "printing to an absent usb: printer succeeded"
grep -q "Impressora USB ffff:fffe não encontrada" "$WORK/usb.txt" \
    || fail "usb: printers do not work in this bundle (a package or libusb is missing)"

echo "==> 7. stopping the simulator"
kill "$SIM_PID"
wait "$SIM_PID" 2>/dev/null || true
SIM_PID=""

echo "==> 8. the GUI starts (demo mode, offscreen, ${GUI_SECONDS:=6} s)"
# Catches a Qt module or plugin the bundle lacks: such a bundle dies at once; a good one is
# still running when the timeout stops it (exit 124).
set +e
timeout "$GUI_SECONDS" "$APP" demo > "$WORK/demo.log" 2>&1
gui_rc=$?
set -e
if [[ $gui_rc -ne 124 ]]; then
    sed 's/^/    /' "$WORK/demo.log" >&2
    fail "posapp demo exited with $gui_rc before the timeout"
fi
echo "    still running after ${GUI_SECONDS} s"
echo "SMOKE OK"
