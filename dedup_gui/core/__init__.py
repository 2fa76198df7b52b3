"""The engine: scanning, hashing, storage, grouping and actions. Pure Python; never imports Qt."""
