"""`python -m dedup_gui` is the same as the `dedup-gui` command."""

import sys

from dedup_gui.cli import main

if __name__ == "__main__":
    sys.exit(main())
