#!/usr/bin/env bash
# Smoke test of the Linux bundle: builds it (or reuses dist/ with --reuse), then starts it under
# Xvfb with a clean environment and every Python install hidden, on a fixture library:
# window mapped, scan finished, no file mapped from outside the bundle, Ctrl+Q exits with 0,
# desktop entry installed and removed. Needs xvfb-run and xdotool (apt install xvfb xdotool).
#
#     packaging/smoke_test.sh [--reuse] [--startup-runs N]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="${BUNDLE_VENV:-$repo/build/bundle/venv}"
reuse=0
if [ "${1:-}" = "--reuse" ]; then reuse=1; shift; fi
if [ "$reuse" = 0 ] || [ ! -x "$repo/dist/dedup-gui/dedup-gui" ] || [ ! -x "$venv/bin/python" ]
then
  "$repo/packaging/build_bundle.sh"
fi
for tool in xvfb-run xdotool; do
  command -v "$tool" >/dev/null || { echo "smoke test needs $tool (apt install xvfb xdotool)"; exit 2; }
done
# The driver runs in the build venv only for Pillow (it draws the fixture photos); the bundle
# itself gets none of it.
# -a alone starts at :99 and races other xvfb-runs on a shared machine; start somewhere random.
exec xvfb-run -a -n $((100 + RANDOM % 800)) -s "-screen 0 1280x1024x24" \
  "$venv/bin/python" "$repo/packaging/smoke_test.py" "$@"
