#!/usr/bin/env bash
# Builds the self-contained Linux bundle: dist/dedup-gui/ (run dist/dedup-gui/dedup-gui) and
# dist/dedup-gui-VERSION-linux-x86_64.tar.gz. One command, from anywhere:
#
#     packaging/build_bundle.sh
#
# It makes its own venv (never the developer's), installs dedup-gui from a copy of the source
# plus PyInstaller and, when they install cleanly, pi-heif and rawpy, then runs the spec.
# Environment: PYTHON (default python3, must have its shared libpython), BUNDLE_VENV (default
# build/bundle/venv, reused between builds), DEDUP_GUI_SOURCE (default: this checkout).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
source_dir="${DEDUP_GUI_SOURCE:-$repo}"
python="${PYTHON:-python3}"
work="$repo/build/bundle"
venv="${BUNDLE_VENV:-$work/venv}"
dist="$repo/dist"
start=$(date +%s)

if [ ! -x "$venv/bin/python" ]; then
  echo "== venv $venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
fi

# Install from a clean copy: pip's in-tree build would write build/ and *.egg-info into the
# checkout, and a copy also keeps half-edited files of a running session out of the way.
echo "== install dedup-gui and PyInstaller"
rm -rf "$work/src"
mkdir -p "$work/src"
tar -C "$source_dir" --exclude=./build --exclude=./dist --exclude=./.git --exclude='./*venv' \
  --exclude='__pycache__' -cf - . | tar -C "$work/src" -xf -
"$venv/bin/python" -m pip install --quiet "$work/src" "pyinstaller>=6.10,<7"
for optional in pi-heif rawpy; do
  "$venv/bin/python" -m pip install --quiet "$optional" \
    || echo "warning: $optional did not install; the bundle is built without it"
done
# pillow-heif's wheels are GPL (they bundle the x265 encoder): never ship it, even if a reused
# build venv still has it from an older build.
"$venv/bin/python" -m pip uninstall --quiet --yes pillow-heif pillow-jxl-plugin 2>/dev/null || true

echo "== pyinstaller"
"$venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --workpath "$work/pyinstaller" --distpath "$dist" "$repo/packaging/dedup-gui.spec"

# The freedesktop files beside the binary too, for packagers and for users who look.
cp "$work/src/resources/dedup-gui.desktop" "$dist/dedup-gui/"
cp "$work/src/resources/icons/hicolor/scalable/apps/dedup-gui.svg" "$dist/dedup-gui/"

echo "== check"
"$dist/dedup-gui/dedup-gui" --bundle-self-test

version=$("$venv/bin/python" -c "import dedup_gui; print(dedup_gui.__version__)")
tarball="$dist/dedup-gui-$version-linux-$(uname -m).tar.gz"
tar -C "$dist" -czf "$tarball" dedup-gui
echo "== done in $(($(date +%s) - start)) s: $dist/dedup-gui/dedup-gui" \
  "($(du -sh "$dist/dedup-gui" | cut -f1) unpacked, $(du -h "$tarball" | cut -f1) as $tarball)"
