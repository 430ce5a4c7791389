"""One definition of the server's settings makes both its flags and its environment variables."""

import dataclasses

import pytest

from glyphpress.errors import GlyphpressError
from glyphpress.serve import settings as st

from ..test_cli import assert_user_error, run


def test_every_setting_is_a_flag_with_its_environment_variable():
    rc, out, _ = run("serve", "--help", env={"COLUMNS": "200"})
    assert rc == 0
    for f in st.options():
        line = next((ln for ln in out.splitlines() if f"{st.flag(f)} " in ln), "")
        assert line, st.flag(f)
        assert f"GLYPHPRESS_{f.name.upper()}" in out


def test_environment_variables_use_the_flag_names():
    s = st.Settings.from_env({"GLYPHPRESS_LIFETIME_HOURS": "2", "GLYPHPRESS_REQUEST_TIMEOUT": "5",
                              "GLYPHPRESS_MAX_PAGES": "7", "GLYPHPRESS_TOKEN": "t"}, port=8000)
    assert (s.lifetime_s, s.request_timeout, s.max_pages, s.token, s.port) == (7200, 5, 7, "t", 8000)
    with pytest.raises(GlyphpressError, match="GLYPHPRESS_MAX_PAGES='many': expected an integer"):
        st.Settings.from_env({"GLYPHPRESS_MAX_PAGES": "many"})
    assert {f.name for f in dataclasses.fields(st.Settings)} - {f.name for f in st.options()} == {"extra"}


def test_bad_limits_are_one_line_errors():
    assert_user_error(*run("serve", "--max-pages", "0")[::2], "--max-pages must be at least 1")
    assert_user_error(*run("serve", "--max-queued", "-1")[::2], "--max-queued must be at least 0")
    rc, _, err = run("serve", "--backend", "nope")
    assert_user_error(rc, err, "--backend must be openai or transformers")
    rc, _, err = run("serve", env={"GLYPHPRESS_REQUEST_TIMEOUT": "soon"})
    assert_user_error(rc, err, "GLYPHPRESS_REQUEST_TIMEOUT")


def test_a_bad_data_folder_or_a_port_in_use_is_one_line(tmp_path):
    import socket

    (tmp_path / "file").write_text("x")
    assert_user_error(*run("serve", "--data-dir", tmp_path / "file", "--port", "1")[::2], "cannot")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        rc, _, err = run("serve", "--port", port, "--data-dir", tmp_path / "d")
        assert_user_error(rc, err, f"cannot listen on 127.0.0.1:{port}")
    rc, _, err = run("serve", "--port", "70000")
    assert_user_error(rc, err, "--port must be at most 65535")
    rc, _, err = run("serve", "--request-timeout", "nan")
    assert_user_error(rc, err, "--request-timeout must be a finite number")
