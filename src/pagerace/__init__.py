"""pagerace: find, explain and rule out races in hypervisor page-table code."""

from pathlib import Path as _Path

from pagerace.build import use_sources as _use_sources

__version__ = "0.1.0"

__all__ = ["__version__"]

# (a compiled module older than its source, or PAGERACE_PURE_PYTHON: the sources run)
_use_sources(_Path(__file__).parent)
