"""pagerace: find, explain and rule out races in hypervisor page-table code."""

__version__ = "0.1.0"

__all__ = ["__version__"]
