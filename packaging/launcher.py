"""Entry point of the frozen bundle: multiprocessing helpers first, then `dedup-gui` (cli.main)."""

from __future__ import annotations

import multiprocessing
import sys

# The bundle's own check, answered before the app starts; not a `dedup-gui` option.
SELF_TEST_FLAG = "--bundle-self-test"


def _self_test() -> int:
    """Imports what the bundle must carry and prints one line per part; 0 if all load."""
    import io

    import numpy
    import PIL
    import PySide6
    from PIL import Image

    from dedup_gui import __version__

    print(f"dedup-gui {__version__} frozen={getattr(sys, 'frozen', False)}")
    print(f"python {sys.version.split()[0]} at {sys.executable}")
    print(f"PySide6 {PySide6.__version__}, Pillow {PIL.__version__}, numpy {numpy.__version__}")
    code = 0
    try:  # optional decoders: in the bundle only if they installed cleanly at build time
        import pillow_heif  # type: ignore[import-not-found,unused-ignore]

        pillow_heif.register_heif_opener()
        buffer = io.BytesIO()
        Image.new("RGB", (16, 16), "red").save(buffer, format="HEIF")
        decoded = Image.open(io.BytesIO(buffer.getvalue())).size
        print(f"pillow-heif {pillow_heif.__version__}: HEIF round trip {decoded}")
    except ImportError as exc:
        print(f"pillow-heif: not bundled ({exc})")
    except Exception as exc:  # bundled but broken: that is a failed build
        print(f"pillow-heif: FAILED ({exc!r})")
        code = 1
    try:
        import rawpy  # type: ignore[import-not-found,unused-ignore]

        print(f"rawpy {rawpy.__version__}: LibRaw {rawpy.libraw_version}")
    except ImportError as exc:
        print(f"rawpy: not bundled ({exc})")
    return code


def main() -> int:
    # Must run before anything else: the forkserver and resource tracker are started by
    # re-running this executable with "-c ..."; PyInstaller's freeze_support runs them here.
    multiprocessing.freeze_support()
    if sys.argv[1:] == [SELF_TEST_FLAG]:
        return _self_test()
    from dedup_gui.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
