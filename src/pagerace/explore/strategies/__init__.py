"""pagerace.explore.strategies."""

__all__: list[str] = []
