"""Evidence: the pages and lines an answer rests on (locate.py)."""

from .locate import Citation, find, locate

__all__ = ["Citation", "find", "locate"]
