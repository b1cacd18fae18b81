"""Pieces several benchmark scripts share (imported as ``common``: scripts run with ``benchmarks/`` on the path)."""
