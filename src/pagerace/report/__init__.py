"""pagerace.report."""

__all__: list[str] = []
