"""WARC files: written, read back, checked, indexed and packed."""
