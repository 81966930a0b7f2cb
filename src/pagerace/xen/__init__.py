"""pagerace.xen."""

__all__: list[str] = []
