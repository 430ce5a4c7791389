"""What a model's free-form reply holds: the first JSON value of a wanted shape in it, wherever it is (after
prose, inside a code fence), tolerant of hostile replies."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

TRIES = 50  # starting points tried at most: a reply made of brackets holds no value worth the time


def first_json(reply: str, opener: str, wanted: Callable[[Any], bool]) -> Any | None:
    """The first JSON value starting at an ``opener`` ("{" or "[") of ``reply`` that ``wanted`` accepts; None
    when none does among the first ``TRIES`` openers (text that is not JSON, or nested too deep, is passed
    over)."""
    decoder, at = json.JSONDecoder(), reply.find(opener)
    for _ in range(TRIES):
        if at < 0:
            return None
        try:
            value, _ = decoder.raw_decode(reply, at)
        except (ValueError, RecursionError):
            pass
        else:
            if wanted(value):
                return value
        at = reply.find(opener, at + 1)
    return None
