"""Starts the built bundle under Xvfb as on a machine without Python: window, scan, clean exit.

Run through packaging/smoke_test.sh, which builds the bundle and provides Xvfb. Needs xdotool.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
WINDOW_TITLE = "Duplicate Photos"  # dedup_gui.ui.main_window.APP_TITLE
# The log line main_window writes when a scan completes, as it must read for make_library's
# photos: three groups of copies, and every photo decoded (the bundle has all its decoders).
SCAN_DONE = "Scan finished: 9 photos checked, 3 groups, 0 problems"
EXPECTED_GROUPS = {
    frozenset({"2023/beach.jpg", "Backup/beach.jpg", "Export/beach small.jpg"}),
    frozenset({"2023/forest.jpg", "Backup/forest.jpg"}),
    frozenset({"2023/city.png", "Export/city.jpg"}),
}
# Where a Python could be found if the bundle were not self-contained; hidden while it runs.
PYTHON_PLACES = (
    "/work/venv",
    "/root/.pyenv",
    "/usr/lib/python3",
    "/usr/local/lib/python3",
    str(REPO / "build"),
    str(REPO / "dedup_gui"),
)
FORBIDDEN_IN_MAPS = ("/work/venv", "/.pyenv/", "/usr/lib/python3", "/usr/local/lib/python3")


def make_library(root: Path) -> Path:
    """Nine photos in four folders: three originals, an exact copy, a resize, a re-encode, a
    PNG conversion, and two unrelated photos, one with a name that is not UTF-8."""
    library = root / "Photos"
    for sub in ("2023", "Backup", "Export"):
        (library / sub).mkdir(parents=True)
    originals = [_noise_photo(seed) for seed in range(5)]
    originals[0].save(library / "2023" / "beach.jpg", quality=92)
    shutil.copy2(library / "2023" / "beach.jpg", library / "Backup" / "beach.jpg")
    originals[0].resize((128, 96)).save(library / "Export" / "beach small.jpg", quality=90)
    originals[1].save(library / "2023" / "forest.jpg", quality=95)
    originals[1].save(library / "Backup" / "forest.jpg", quality=70)
    originals[2].save(library / "2023" / "city.png")
    originals[2].save(library / "Export" / "city.jpg", quality=90)
    originals[3].save(library / "2023" / "snow.jpg", quality=90)
    originals[4].save(os.fsdecode(bytes(library / "Export") + b"/caf\xe9.jpg"), quality=90)
    return library


def _noise_photo(seed: int) -> Image.Image:
    """A 256x192 photo-like image: smooth blocks of random colour, distinct for each seed."""
    rng = random.Random(seed)
    small = Image.new("RGB", (8, 6))
    small.putdata([tuple(rng.randrange(256) for _ in range(3)) for _ in range(48)])
    return small.resize((256, 192), Image.Resampling.BICUBIC)


def clean_env(home: Path) -> dict[str, str]:
    """What a desktop session hands an app: no PYTHON*, no venv on PATH, a fresh home."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "DISPLAY": os.environ["DISPLAY"],
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "QT_QPA_PLATFORM": "xcb",
        "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_STATE_HOME": str(home / ".local/state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_RUNTIME_DIR": str(home / "run"),
    }
    if "XAUTHORITY" in os.environ:
        env["XAUTHORITY"] = os.environ["XAUTHORITY"]
    (home / "run").mkdir(mode=0o700, parents=True, exist_ok=True)
    return env


def without_python(command: Sequence[str]) -> list[str]:
    """``command`` in a mount namespace where every Python install on this machine is hidden
    behind an empty tmpfs, so the bundle cannot use one even by accident (needs root)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        print("note: not root, Python installs stay visible; /proc maps are still checked")
        return list(command)
    places = [p for p in PYTHON_PLACES if os.path.isdir(p)]
    places += [str(p) for p in Path("/usr/lib").glob("python3*") if p.is_dir()]
    places += [str(p) for p in Path("/usr/local/lib").glob("python3*") if p.is_dir()]
    pythons = [str(p) for p in Path("/usr/bin").glob("python3*")]
    places = list(dict.fromkeys(places))  # /usr/lib/python3 is also matched by the glob
    script = "".join(f"mount -t tmpfs none {shlex.quote(d)}; " for d in places)
    script += "".join(f"mount --bind /dev/null {shlex.quote(f)}; " for f in pythons)
    namespace = ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c"]
    return [*namespace, script + 'exec "$@"', "sh", *command]


def wait_for(what: str, check: Callable[[], str | None], timeout_s: float) -> str:
    """Polls ``check`` every 10 ms until it returns a value; fails the test after timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.01)
    raise SystemExit(f"FAIL: {what} within {timeout_s:.0f} s")


def visible_window() -> str | None:
    """The id of the app's mapped main window, if there is one."""
    result = subprocess.run(
        ["xdotool", "search", "--onlyvisible", "--name", f"^{WINDOW_TITLE}$"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.split()[0] if result.stdout.split() else None


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (the forkserver and its decoding workers)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


def check_maps(pids: list[int], bundle_dir: Path) -> int:
    """Fails if any process maps a file from a Python install outside the bundle.

    Returns:
        How many files from inside the bundle are mapped (the proof it runs from there).
    """
    inside = 0
    for pid in pids:
        try:
            maps = Path(f"/proc/{pid}/maps").read_text()
        except OSError:
            continue  # a worker that just ended
        for line in maps.splitlines():
            path = line.split(maxsplit=5)[-1] if len(line.split()) >= 6 else ""
            if path.startswith(str(bundle_dir)):
                inside += 1
            elif any(bad in path for bad in FORBIDDEN_IN_MAPS) or "site-packages" in path:
                raise SystemExit(f"FAIL: process {pid} maps {path} from outside the bundle")
    return inside


def run_once(bundle: Path, home: Path, args: Sequence[str]) -> tuple[subprocess.Popen[bytes], str]:
    """Starts the bundle with ``args``; returns the process and its window id, once mapped."""
    env = clean_env(home)  # makes the home folder too
    with (home / "stderr.txt").open("ab") as stderr:
        process = subprocess.Popen(
            without_python([str(bundle), *args]), env=env, stderr=stderr, cwd=home
        )
    window = wait_for("the window appears", visible_window, 60)
    return process, window


def close(process: subprocess.Popen[bytes], window: str) -> int:
    """Ctrl+Q in the window, as a user would; returns the exit code."""
    # No window manager runs under Xvfb, so focus is set directly, then XTEST types the keys.
    subprocess.run(["xdotool", "windowfocus", "--sync", window], check=True)
    subprocess.run(["xdotool", "key", "--clearmodifiers", "ctrl+q"], check=True)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise SystemExit("FAIL: the app did not exit within 30 s of Ctrl+Q") from None


def smoke(bundle: Path, tmp: Path) -> None:
    """Window, scan of the fixture library, no Python from outside, clean exit, desktop entry."""
    home = tmp / "home"
    library = make_library(tmp)
    db = home / "library.sqlite3"
    start = time.monotonic()
    process, window = run_once(bundle, home, ["--db", str(db), str(library)])
    print(f"ok: window {window} mapped after {time.monotonic() - start:.2f} s")
    log_file = home / ".local/state/dedup-gui/log/dedup-gui.log"

    def scan_line() -> str | None:
        text = log_file.read_text("utf-8", "replace") if log_file.exists() else ""
        return next((line for line in text.splitlines() if "Scan finished" in line), None)

    line = wait_for(f"'Scan finished' in {log_file}", scan_line, 60)
    if SCAN_DONE not in line:
        raise SystemExit(f"FAIL: expected '{SCAN_DONE}', the log says: {line}")
    print(f"ok: the window's scan logged '{SCAN_DONE}'")
    inside = check_maps(descendants(process.pid), bundle.parent)
    print(f"ok: {inside} mapped files, all from the bundle or the system's libraries")
    code = close(process, window)
    log_text = log_file.read_text("utf-8", "replace")
    if code != 0 or "Traceback" in log_text or " CRITICAL " in log_text:
        print(log_text[-4000:], (home / "stderr.txt").read_text("utf-8", "replace")[-4000:])
        raise SystemExit(f"FAIL: exit code {code}, or an error in the log")
    print("ok: closed with Ctrl+Q, exit code 0, no error in the log")
    check_headless_scan(bundle, home, library)
    check_desktop_entry(bundle, home)


def check_headless_scan(bundle: Path, home: Path, library: Path) -> None:
    """`dedup-gui scan --json` from the bundle finds exactly the planted groups, no problem."""
    done = subprocess.run(
        without_python(
            [str(bundle), "scan", "--json", "--db", str(home / "cli.sqlite3"), str(library)]
        ),
        env=clean_env(home),
        capture_output=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise SystemExit(f"FAIL: dedup-gui scan exited {done.returncode}: {done.stderr[-2000:]!r}")
    report = json.loads(done.stdout)
    groups = {
        frozenset(str(Path(m["path"]).relative_to(library)) for m in g["members"])
        for g in report["groups"]
    }
    if groups != EXPECTED_GROUPS or report["problems"]:
        raise SystemExit(f"FAIL: scan found {groups}, problems {report['problems']}")
    print(f"ok: dedup-gui scan --json found the {len(groups)} planted groups, no problems")


def check_desktop_entry(bundle: Path, home: Path) -> None:
    """--install-desktop-entry puts the menu entry and icon in XDG_DATA_HOME; --remove takes
    them away again."""
    env = clean_env(home)
    entry = home / ".local/share/applications/dedup-gui.desktop"
    icon = home / ".local/share/icons/hicolor/256x256/apps/dedup-gui.png"
    for flag in ("--install-desktop-entry", "--install-desktop-entry"):  # twice: idempotent
        subprocess.run(without_python([str(bundle), flag]), env=env, check=True, timeout=60)
    text = entry.read_text("utf-8")
    if f"Exec={bundle} %F" not in text and f'Exec="{bundle}" %F' not in text:
        raise SystemExit(f"FAIL: {entry} does not run {bundle}:\n{text}")
    if not icon.is_file():
        raise SystemExit(f"FAIL: {icon} missing")
    subprocess.run(without_python([str(bundle), "--remove-desktop-entry"]), env=env, check=True)
    if entry.exists() or icon.exists():
        raise SystemExit("FAIL: --remove-desktop-entry left files behind")
    print("ok: desktop entry and icons installed (twice) and removed")


def measure_startup(bundle: Path, tmp: Path, runs: int) -> None:
    """Launch to window mapped: the first run after dropping the page cache (if allowed),
    then the median of ``runs`` warm runs."""
    home = tmp / "startup-home"
    cold_note = "first run, page cache dropped"
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        cold_note = "first run; page cache could not be dropped, so not truly cold"
    timings = []
    for _ in range(runs + 1):
        start = time.monotonic()
        process, window = run_once(bundle, home, ["--db", str(home / "db.sqlite3")])
        timings.append(time.monotonic() - start)
        if close(process, window) != 0:
            raise SystemExit("FAIL: a start-up run did not exit cleanly")
    warm = timings[1:]
    print(f"start-up ({cold_note}): {timings[0]:.2f} s")
    print(
        f"start-up warm, median of {runs}: {statistics.median(warm):.2f} s "
        f"(runs: {', '.join(f'{t:.2f}' for t in warm)})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundle", type=Path, default=REPO / "dist/dedup-gui/dedup-gui")
    parser.add_argument(
        "--startup-runs",
        type=int,
        default=0,
        metavar="N",
        help="also time N warm starts (and one cold one)",
    )
    options = parser.parse_args()
    if "DISPLAY" not in os.environ or shutil.which("xdotool") is None:
        print("needs an X display and xdotool: run packaging/smoke_test.sh", file=sys.stderr)
        return 2
    bundle = options.bundle.resolve()
    with tempfile.TemporaryDirectory(prefix="dedup-gui-smoke-") as tmp:
        smoke(bundle, Path(tmp))
        if options.startup_runs:
            measure_startup(bundle, Path(tmp), options.startup_runs)
    print("PASS: the bundle starts, scans and exits cleanly without any Python install")
    return 0


if __name__ == "__main__":
    sys.exit(main())
