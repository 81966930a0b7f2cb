"""pagerace.paging."""

__all__: list[str] = []
