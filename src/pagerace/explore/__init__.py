"""pagerace.explore."""

__all__: list[str] = []
