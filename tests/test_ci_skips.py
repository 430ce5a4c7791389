"""`.ci/skips.py`: CI fails when a test skips that the allowed list does not name."""

import subprocess
import sys
from pathlib import Path

CHECK = Path(__file__).resolve().parents[1] / ".ci" / "skips.py"


def run_pytest_and_check(tmp_path, allowed: str) -> subprocess.CompletedProcess:
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "__init__.py").write_text("")
    (tests / "test_some.py").write_text(
        "import pytest\n\n"
        "def test_runs():\n    pass\n\n"
        "@pytest.mark.skipif(True, reason='no chromium here')\ndef test_browser():\n    pass\n\n"
        "@pytest.mark.parametrize('n', [1, 2])\ndef test_param(n):\n    pytest.skip('tool missing')\n")
    junit = tmp_path / "junit.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", "tests"],
                   cwd=tmp_path, capture_output=True, check=False)
    (tmp_path / "allowed").write_text(allowed)
    return subprocess.run([sys.executable, str(CHECK), str(junit), str(tmp_path / "allowed")],
                          capture_output=True, text=True)


def test_every_skip_allowed_passes(tmp_path):
    r = run_pytest_and_check(tmp_path, "# why\ntests/test_some.py::test_browser  # no browser\n"
                                       "tests/test_some.py::test_param[*]  # a tool\n")
    assert r.returncode == 0, r.stderr
    assert "skipped (allowed): tests/test_some.py::test_browser: no chromium here" in r.stdout
    assert "3 test(s) skipped, all allowed" in r.stdout


def test_a_skip_not_on_the_list_fails(tmp_path):
    r = run_pytest_and_check(tmp_path, "tests/test_some.py::test_browser\n")
    assert r.returncode == 1
    assert "skipped (NOT ALLOWED): tests/test_some.py::test_param[1]: tool missing" in r.stdout
    assert "2 test(s) skipped that" in r.stderr
