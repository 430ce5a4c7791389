"""Abuse and faults over real HTTP against `glyphpress serve` in its own process, with the attacks of
benchmarks/serve_abuse.py: oversized chunked bodies, dripped bodies, connect-and-drop storms, hostile θ,
a PDF bomb, a 3,000-page PDF without text, cross-site posts, deletes while pages are fetched, kill -9."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "serve_abuse.py"
spec = importlib.util.spec_from_file_location("serve_abuse", SCRIPT)
abuse = importlib.util.module_from_spec(spec)
spec.loader.exec_module(abuse)

FLAGS = ["--max-upload-mb", "2", "--max-uploads-mb", "5", "--head-timeout", "1", "--body-timeout", "1",
         "--max-concurrent", "1", "--max-queued", "0",
         "--parse-memory-mb", "128", "--parse-timeout", "30", "--max-pages", "200"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with abuse.Server(tmp_path_factory.mktemp("abuse"), *FLAGS) as s:
        yield s


@pytest.fixture(scope="module")
def long_text():
    from glyphpress.cli import sample_text

    return sample_text() * 30  # about 340,000 characters: a render of many pages


def test_bodies_over_the_limit_or_too_slow_are_refused(server):
    assert abuse.chunked_oversize(server.port, 3) == 413  # no Content-Length to check: counted as it comes
    status, took = abuse.slow_drip(server.port, 1)
    assert status == 408 and took < 4
    assert server.jobs() == {"running": 0, "waiting": 0, "slots": 1}


def test_stalled_uploads_and_unfinished_heads_cannot_fill_the_server(tmp_path):
    with abuse.Server(tmp_path / "data", *FLAGS, "--body-timeout", "30") as server:
        # bodies held at once are bounded (5 MB here): past three stalled 1.5 MB uploads, the next are refused
        assert abuse.stalled_uploads(server.port, 5, 1.5) == [None, None, None, 503, 503]
        assert abuse.idle_heads(server.port, 30, 2.5) == 30  # closed after the head timeout (1 s)
        assert server.jobs()["running"] == 0  # and the server answers


def test_connect_and_drop_storm_never_runs_more_renders_than_slots(server, long_text):
    storm = abuse.drop_storm(server, long_text, 8)
    assert storm["max_running"] == 1  # one render at a time, though every client hung up
    assert set(storm["answers"]) <= {200, 429} and storm["after"] == 200


def test_hostile_theta_is_refused(server):
    answers = abuse.hostile_theta(server.url)
    assert len(answers) == len(abuse.HOSTILE_THETA) + 1
    assert [case for case, status in answers if status != 400] == []


def test_pdf_bomb_and_a_3000_page_pdf_without_text(server):
    status, message = abuse.upload(server.url, "bomb.pdf", abuse.deflate_bomb(400))
    assert status == 400 and "128 MB of memory" in message
    status, message = abuse.upload(server.url, "blank.pdf", abuse.pdf([b""] * 3000))
    assert status == 400 and "3000 pages, over the limit of 200" in message


def test_cross_site_form_posts(server):
    assert abuse.cross_site(server.url) == [403, 403, 403]


def test_delete_while_pages_are_fetched(server, long_text):
    counts = abuse.delete_while_fetching(server.url, long_text[:40_000])
    assert counts.pop("delete") == 200
    assert set(counts) <= {"whole page", "404"} and counts.get("whole page") and counts.get("404")


def test_kill_9_mid_render_then_restart(tmp_path, long_text):
    r = abuse.kill_mid_render(str(tmp_path / "data"), long_text, *FLAGS)
    assert len(r["folders_after_kill"]) == 2  # the whole document and the half-written one
    assert r["listed"] == [r["kept"]] and r["whole"] == [True]  # nothing lost, nothing half-written listed
    assert r["folders_after_restart"] == [r["kept"]]  # the debris is gone


def test_the_deadline_stops_work_before_the_first_page(tmp_path):
    """Parsing and typesetting 3,000 formulas take far longer than a request may: the work is stopped (the
    parsing child killed) at the deadline, plainly and in a progress stream, and the slot is free again."""
    with abuse.Server(tmp_path / "data", *FLAGS, "--request-timeout", "2") as server:
        r = abuse.deadline_before_the_first_page(server.url, abuse.formulas(3000))
    assert r["plain"] == 504 and r["plain_s"] < 5
    assert r["stream_status"] == [504] and r["stream_s"] < 5
    assert r["after"] == 200


def test_a_plain_render_stops_when_its_client_hangs_up(tmp_path, long_text):
    with abuse.Server(tmp_path / "data", *FLAGS, "--max-upload-mb", "8", "--max-pages", "5000") as server:
        r = abuse.plain_hang_up(server, long_text * 10)  # a render of about 10 s
    assert r["idle_after_s"] < 2 and r["stored"] == 0
