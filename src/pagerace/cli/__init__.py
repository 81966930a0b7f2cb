"""The ``pagerace`` command line; one module per command."""

__all__: list[str] = []
