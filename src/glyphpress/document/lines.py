"""Lines of text read off a page (a PDF's text layer, OCR) joined back into paragraphs: where a line end is
a space, a hyphen to undo, or nothing at all (Chinese and Japanese put no spaces between words)."""

from __future__ import annotations

SENTENCE_END = tuple(".!?:;\"'”’»)]。！？：；」』）")


def unspaced(ch: str) -> bool:
    """Characters of scripts written without spaces between words (Chinese, Japanese; their punctuation
    and full-width forms), between which a line end or a gap is no word break."""
    o = ord(ch[0]) if ch else 0
    return (0x3000 <= o <= 0x30FF or 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF
            or 0xFF00 <= o <= 0xFFEF or 0x20000 <= o <= 0x3FFFF)


def ends_sentence(lines: list[str]) -> bool:
    """Whether the last of ``lines`` ends a sentence (or there are none)."""
    return not lines or lines[-1].rstrip().endswith(SENTENCE_END)


def rejoin(lines: list[str]) -> str:
    """A paragraph's lines as one text: a space at each line end, except inside a hyphenated word and
    between two characters of scripts that put no spaces between words."""
    out = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if out.endswith("-") and len(out) > 1 and out[-2].isalpha() and line[:1].islower():
            out = out[:-1] + line  # hyphenation at a line end
        elif out and unspaced(out[-1]) and unspaced(line[0]):
            out += line
        else:
            out = f"{out} {line}" if out else line
    return out
