"""pagerace.checks."""

__all__: list[str] = []
