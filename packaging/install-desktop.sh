#!/usr/bin/env sh
# Add ArchScope to the desktop's application menu for this user: the icon goes to
# ~/.local/share/icons, the .desktop entry (pointing at this folder's ArchScope) to
# ~/.local/share/applications. Run it from the unpacked bundle; run it again after moving it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
mkdir -p "$data/icons/hicolor/256x256/apps" "$data/applications"
cp "$here/archscope.png" "$data/icons/hicolor/256x256/apps/archscope.png"
sed "s|^Exec=.*|Exec=\"$here/ArchScope\"|" "$here/archscope.desktop" > "$data/applications/archscope.desktop"
echo "installed $data/applications/archscope.desktop (runs $here/ArchScope)"
