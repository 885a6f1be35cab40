#!/usr/bin/env bash
# Install (or remove) posapp on a Linux till, from the extracted bundle folder.
#
#   sudo ./install.sh [--user NAME] [--prefix /opt/posapp] [--no-udev] [--no-groups] [--force]
#   sudo ./install.sh --uninstall [--prefix /opt/posapp] [--force]
#
# What it does, in order:
#   1. copies this folder to PREFIX (default /opt/posapp), replacing an older version in
#      one rename (sales live in the user's data folder and are never touched);
#   2. links /usr/local/bin/posapp, installs the menu entry and the icons;
#   3. installs the udev rule for USB receipt printers and reloads udev;
#   4. adds the cashier's user to the groups lp (USB printers) and dialout (serial ports).
#
# POSAPP_INSTALL_ROOT=/some/dir stages everything under that directory instead of / and
# skips the commands that change the running system (udevadm, usermod): used to test
# this script and to build distribution packages (set POSAPP_INSTALL_CHECK_RUNNING=1 to keep
# the "is posapp running?" check there too). Messages are in Portuguese: the store
# technician reads them.
#
# It refuses to replace or remove posapp while it runs (a sale may be mid-issue; the old
# binary's files vanish under it) unless --force is given.
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STAGE="${POSAPP_INSTALL_ROOT:-}"
PREFIX=/opt/posapp
TARGET_USER="${SUDO_USER:-}"
DO_UDEV=1
DO_GROUPS=1
UNINSTALL=0
FORCE=0

say() { printf '%s\n' "$*"; }
warn() { printf 'AVISO: %s\n' "$*" >&2; }
die() { printf 'ERRO: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '2,5p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --user) TARGET_USER="${2:?--user precisa de um nome}"; shift 2 ;;
        --prefix) PREFIX="${2:?--prefix precisa de uma pasta}"; shift 2 ;;
        --no-udev) DO_UDEV=0; shift ;;
        --no-groups) DO_GROUPS=0; shift ;;
        --uninstall) UNINSTALL=1; shift ;;
        --force) FORCE=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "opção desconhecida: $1 (use --help)" ;;
    esac
done

[[ "$PREFIX" == /* ]] || die "--prefix deve ser um caminho absoluto: $PREFIX"
if [[ -z "$STAGE" && "$(id -u)" -ne 0 ]]; then
    die "rode como administrador: sudo $0 $*"
fi

DEST="$STAGE$PREFIX"
BIN_LINK="$STAGE/usr/local/bin/posapp"
APPS_DIR="$STAGE/usr/share/applications"
ICONS_DIR="$STAGE/usr/share/icons/hicolor"
UDEV_RULE="$STAGE/etc/udev/rules.d/60-posapp-printers.rules"

refresh_desktop_caches() {
    [[ -n "$STAGE" ]] && return 0
    command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$APPS_DIR" || true
    command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$ICONS_DIR" || true
}

reload_udev() {
    [[ -n "$STAGE" ]] && return 0
    if command -v udevadm >/dev/null 2>&1; then
        udevadm control --reload-rules && udevadm trigger --subsystem-match=usb --subsystem-match=usbmisc \
            --subsystem-match=tty || warn "udevadm falhou; desconecte e reconecte a impressora."
    fi
}

# Never swap files under a running posapp: it may be in the middle of issuing a sale.
if [[ -z "$STAGE" || "${POSAPP_INSTALL_CHECK_RUNNING:-0}" == 1 ]] && pgrep -x posapp >/dev/null 2>&1; then
    if [[ "$FORCE" -eq 1 ]]; then
        warn "o posapp está aberto; continuando por causa de --force. Feche e abra de novo depois."
    else
        die "o posapp está aberto. Feche o posapp em todos os caixas desta máquina (termine a venda em andamento) e rode de novo; use --force só se ele estiver travado."
    fi
fi

if [[ "$UNINSTALL" -eq 1 ]]; then
    say "Removendo o posapp de $PREFIX ..."
    rm -rf "$DEST" "$DEST.new" "$DEST.old"
    rm -f "$BIN_LINK" "$APPS_DIR/posapp.desktop" "$UDEV_RULE"
    find "$ICONS_DIR" -name 'posapp.png' -path '*/apps/*' -delete 2>/dev/null || true
    rm -f "$ICONS_DIR/scalable/apps/posapp.svg"
    refresh_desktop_caches
    reload_udev
    say "posapp removido. As vendas, a configuração e os registros dos usuários foram mantidos"
    say "(~/.local/share/posapp, ~/.config/posapp, ~/.local/state/posapp)."
    exit 0
fi

[[ -x "$SRC/posapp" && -d "$SRC/_internal" ]] || die "rode este script de dentro da pasta do posapp extraída."
VERSION="$(cat "$SRC/VERSION" 2>/dev/null || echo '?')"

# 1. files: copy next to the target, then swap in one rename so a failed copy leaves the old version.
say "Instalando posapp $VERSION em $PREFIX ..."
mkdir -p "$(dirname "$DEST")"
rm -rf "$DEST.new"
cp -a "$SRC" "$DEST.new"
rm -f "$DEST.new/install.sh"
if [[ -e "$DEST" ]]; then
    rm -rf "$DEST.old"
    mv "$DEST" "$DEST.old"
fi
mv "$DEST.new" "$DEST"
rm -rf "$DEST.old"
chmod 0755 "$DEST" "$DEST/posapp"

# 2. command, menu entry, icons.
mkdir -p "$(dirname "$BIN_LINK")" "$APPS_DIR"
ln -sfn "$PREFIX/posapp" "$BIN_LINK"
sed -e "s|/opt/posapp/posapp|$PREFIX/posapp|g" "$SRC/share/posapp.desktop" > "$APPS_DIR/posapp.desktop"
chmod 0644 "$APPS_DIR/posapp.desktop"
for png in "$SRC"/share/icons/posapp-*.png; do
    size="$(basename "$png" .png)"
    size="${size#posapp-}"
    install -D -m 0644 "$png" "$ICONS_DIR/${size}x${size}/apps/posapp.png"
done
install -D -m 0644 "$SRC/share/icons/posapp.svg" "$ICONS_DIR/scalable/apps/posapp.svg"
refresh_desktop_caches

# 3. udev rule for USB printers.
if [[ "$DO_UDEV" -eq 1 ]]; then
    install -D -m 0644 "$SRC/share/60-posapp-printers.rules" "$UDEV_RULE"
    reload_udev
    say "Regra udev das impressoras instalada (${UDEV_RULE#"$STAGE"})."
fi
# brltty (Braille displays) claims CH340/CP210x USB-serial adapters, the chips of many cheap
# serial receipt printers: /dev/ttyUSB0 appears and vanishes a second later.
if command -v brltty >/dev/null 2>&1; then
    warn "o brltty (leitor de Braille) está instalado e captura adaptadores USB-serial CH340/CP210x: uma impressora serial USB pode sumir de /dev/ttyUSB*. Se não usa display Braille: sudo apt remove brltty"
fi

# 4. groups for the cashier's user.
if [[ "$DO_GROUPS" -eq 1 ]]; then
    if [[ -z "$TARGET_USER" || "$TARGET_USER" == "root" ]]; then
        warn "não sei qual é o usuário do caixa: rode de novo com --user NOME para liberar a impressora USB/serial."
    elif [[ -n "$STAGE" ]]; then
        say "(teste) adicionaria $TARGET_USER aos grupos lp e dialout."
    else
        id "$TARGET_USER" >/dev/null 2>&1 || die "usuário inexistente: $TARGET_USER"
        added=()
        for group in lp dialout; do
            if ! getent group "$group" >/dev/null; then
                warn "o grupo $group não existe neste sistema; pulei."
            elif id -nG "$TARGET_USER" | tr ' ' '\n' | grep -qx "$group"; then
                :
            else
                usermod -aG "$group" "$TARGET_USER"
                added+=("$group")
            fi
        done
        if [[ ${#added[@]} -gt 0 ]]; then
            say "O usuário $TARGET_USER foi adicionado aos grupos: ${added[*]}."
            say ">>> $TARGET_USER precisa SAIR DA SESSÃO E ENTRAR DE NOVO (ou reiniciar) para usar a impressora. <<<"
        else
            say "O usuário $TARGET_USER já está nos grupos lp e dialout."
        fi
    fi
fi

say ""
say "Pronto. Abra o posapp pelo menu ou com o comando 'posapp'."
say "Para conferir configuração, Emites-Client e impressora: posapp doctor --test-page"
