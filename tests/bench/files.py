"""Small data files the bench tests write."""

import json


def jsonl(path, rows):
    """``rows`` as a JSON-lines file at ``path`` (folders made); the path back."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path
