"""The ``workbench`` command line: a thin shell over the package's functions."""

from workbench.cli.main import main

__all__ = ["main"]
