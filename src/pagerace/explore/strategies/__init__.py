"""pagerace.explore.strategies: one strategy per module behind ``Strategy``."""

from pagerace.explore.strategies.base import CUT, Chooser, Strategy
from pagerace.explore.strategies.dfs import DfsStrategy
from pagerace.explore.strategies.dpor import DporStrategy
from pagerace.explore.strategies.pct import PctStrategy
from pagerace.explore.strategies.random import RandomStrategy
from pagerace.explore.strategies.replay import ReplayStrategy

__all__ = [
    "CUT",
    "Chooser",
    "DfsStrategy",
    "DporStrategy",
    "PctStrategy",
    "RandomStrategy",
    "ReplayStrategy",
    "Strategy",
]
