"""pagerace.machine."""

__all__: list[str] = []
