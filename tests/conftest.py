import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

FONTS = Path(__file__).resolve().parents[1] / "src" / "glyphpress" / "fonts"


@pytest.fixture
def essay_text() -> str:
    from glyphpress.cli import sample_text

    return sample_text()
