"""Marks for single tests that need an optional package or tool: a missing one skips those tests only,
with its reason, never a whole module (``.ci/run`` fails when a test skips that its list does not allow)."""

import importlib.util
import shutil

import pytest


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # a dotted name whose parent is missing
        return False


def package(*names: str) -> pytest.MarkDecorator:
    """Skip the test when any of these modules cannot be imported (they come with the test extra)."""
    missing = [n for n in names if not _importable(n)]
    return pytest.mark.skipif(bool(missing), reason=f"{', '.join(missing)} not installed (pip install -e '.[test]')")


def tool(name: str, apt: str) -> pytest.MarkDecorator:
    """Skip the test when a program is not on PATH (``apt``: the Debian package that has it)."""
    return pytest.mark.skipif(shutil.which(name) is None, reason=f"{name} not installed (Debian package {apt})")
