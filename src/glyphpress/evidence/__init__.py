"""Evidence: the pages and lines an answer rests on (locate.py), and the page regions that show them
(show.py)."""

from .locate import Citation, Shown, find, locate
from .show import crop

__all__ = ["Citation", "Shown", "crop", "find", "locate"]
