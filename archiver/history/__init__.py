"""Versions read back: timelines, comparisons, citations, renderings and reports."""
