"""The Qt front-end. Imports dedup_gui.core, never the other way round."""
