"""The demo feeder: realistic orders pushed through the real webhook path (config ``[demo]``).

Only ``DemoConfig`` is re-exported here, and this module imports nothing else, because
``bot.config`` imports it while it is itself being imported: the feeder (``bot.demo.feeder``:
``demo_shops``, ``demo_ctx`` and its app keys) imports ``bot.config`` and would be a cycle.
"""

from __future__ import annotations

from bot.demo.settings import DEMO_CHANNELS, DemoConfig

__all__ = ["DEMO_CHANNELS", "DemoConfig"]
