"""The document store: ids and page names as data, never paths; only whole documents listed; tidying up
never touches a render in progress."""

import json

import pytest

from glyphpress.errors import GlyphpressError
from glyphpress.manifest import MANIFEST
from glyphpress.serve.store import Store


def whole(store: Store, doc_id: str) -> None:
    folder = store.staging(doc_id)
    store.save_meta(doc_id, {"name": doc_id[:4]}, "text")
    (folder / "page_0001.png").write_bytes(b"\x89PNG")
    (folder / MANIFEST).write_text(json.dumps({"pages": [{"file": "page_0001.png"}], "totals": {}}))


def test_ids_and_page_names_are_data(tmp_path):
    store = Store(tmp_path, 10, 3600)
    doc = store.new_id()
    whole(store, doc)
    (tmp_path / "secret.txt").write_text("not a page")
    assert store.page(doc, "page_0001.png") is not None
    for name in ("../secret.txt", "../../secret.txt", "page_0001.png/..", "/etc/passwd", "manifest.json",
                 "page_1.png", "page_0001.png\x00"):
        assert store.page(doc, name) is None, name
    for bad in ("..", "../" + doc, doc.upper(), doc + "/..", "", doc[:-1]):
        assert store.folder(bad) is None and store.page(bad, "page_0001.png") is None and not store.delete(bad), bad
    store.close()


def test_tidying_up_spares_renders_in_progress(tmp_path):
    store = Store(tmp_path, 1, 3600)  # one document kept
    old, new, running = store.new_id(), store.new_id(), store.new_id()
    whole(store, old)
    store.save_meta(running, {"name": "in progress"}, "text")  # a render writing its pages
    whole(store, new)
    store.cleanup()
    assert store.folder(old) is None and store.folder(new) is not None  # the oldest whole one goes
    assert store.staging(running).is_dir()  # the render in progress stays
    assert store.finished() == [new]
    store.close()


def test_a_data_folder_serves_one_server_and_debris_goes_at_start(tmp_path):
    store = Store(tmp_path, 10, 3600)
    half = store.new_id()
    store.save_meta(half, {"name": "killed"}, "text")
    with pytest.raises(GlyphpressError, match="in use by another glyphpress server"):
        Store(tmp_path, 10, 3600)
    store.close()
    again = Store(tmp_path, 10, 3600)
    assert not again.staging(half).exists()
    again.close()
