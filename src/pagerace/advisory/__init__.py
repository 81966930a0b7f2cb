"""pagerace.advisory."""

__all__: list[str] = []
