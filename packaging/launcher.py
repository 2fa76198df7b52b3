"""Entry point of the frozen bundle: multiprocessing helpers first, then `dedup-gui` (cli.main)."""

from __future__ import annotations

import multiprocessing
import sys

# The bundle's own check, answered before the app starts; not a `dedup-gui` option.
SELF_TEST_FLAG = "--bundle-self-test"


def _self_test() -> int:
    """Imports what the bundle must carry and prints one line per part; 0 if all load."""
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
        import pi_heif  # type: ignore[import-not-found,unused-ignore]

        pi_heif.register_heif_opener()  # decode only: pi-heif has no encoder to round-trip
        libheif = pi_heif.libheif_info().get("libheif", "?")
        registered = "HEIF" in Image.OPEN
        print(f"pi-heif {pi_heif.__version__}: libheif {libheif}, HEIF opener {registered}")
        if not registered:
            code = 1
    except ImportError as exc:
        print(f"pi-heif: not bundled ({exc})")
    except Exception as exc:  # bundled but broken: that is a failed build
        print(f"pi-heif: FAILED ({exc!r})")
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
