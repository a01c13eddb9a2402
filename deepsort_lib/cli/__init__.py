"""Command-line interface: ``deepsort`` (track, eval) and ``deepsort-convert``."""
