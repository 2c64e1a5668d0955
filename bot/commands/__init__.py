"""CLI subcommands as plain functions (streams in, exit code out); ``bot/cli.py`` wires them."""
