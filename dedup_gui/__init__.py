"""dedup-gui: find duplicate and near-duplicate photos, keep the best copy, trash the rest."""

__version__ = "0.1.0"
