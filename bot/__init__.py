"""The service shell: platform adapters, the composition root (``bot.app``) and the CLI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("orderbot")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
