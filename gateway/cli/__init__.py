"""The command line: the only place that prints to the terminal and exits."""

from gateway.cli.main import main

__all__ = ["main"]
