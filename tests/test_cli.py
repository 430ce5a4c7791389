"""The command line as a user meets it: real processes, real files, every bad input."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from . import needs
from .conftest import FONTS


def run(*args, stdin=None, cwd=None, env=None):
    p = subprocess.run([sys.executable, "-m", "glyphpress", *map(str, args)], input=stdin,
                       capture_output=True, cwd=cwd, timeout=300, env=env and {**os.environ, **env})
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def assert_user_error(rc, err, fragment):
    assert rc == 2, err
    assert "Traceback" not in err
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("args", [[], ["render"], ["count"], ["config"], ["config", "show"],
                                  ["config", "validate"], ["models"]])
def test_help_everywhere(args):
    rc, out, _ = run(*args, "--help")
    assert rc == 0 and "Usage" in out


def test_flags_take_no_value_in_help():
    rc, out, _ = run("render", "--help", env={"COLUMNS": "100"})
    flags = [line for line in out.splitlines() if any(f in line for f in ("--bundle", "--json", "--sample", "--help"))]
    assert len(flags) == 4 and not [line for line in flags if "<" in line]
    assert "--jobs" in out and "<int>" in out  # options that take a value say which


def test_models_fit_80_columns():
    from glyphpress.tokens.vision import VISION_MODELS

    rc, out, err = run("models", env={"COLUMNS": "80"})
    assert rc == 0, err
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "4,611,686" not in out and "none" in out.splitlines()[-1]  # the generic model has no pixel limit
    words = out.split()
    assert all(hub in words for m in VISION_MODELS.values() for hub in m.hub_ids)  # never cut


def test_render_sample_json(tmp_path):
    rc, out, err = run("render", "--sample", "-o", tmp_path / "s", "--json")
    assert rc == 0, err
    data = json.loads(out)
    assert data["pages"] >= 1 and data["compression_ratio"] > 1
    assert (tmp_path / "s" / "manifest.json").is_file() and (tmp_path / "s" / "page_0001.png").is_file()


def test_render_stdin_and_config_and_sets(tmp_path):
    rc, out, err = run("render", "-", "-c", "readable", "--set", "font-size=10", "--set", "line-height=12",
                       "-o", tmp_path / "o", "--model", "qwen2.5-vl", "--json", stdin=b"hello from stdin\n" * 50)
    assert rc == 0, err
    m = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert m["theta"]["dpi"] == 96 and m["theta"]["font-size"] == 10 and m["source"]["name"] == "stdin"
    assert m["totals"]["vision_model"]["name"] == "qwen2.5-vl"


def test_stdin_among_several_inputs(tmp_path):
    """Inputs are read by worker processes when there are several; standard input is read here for them."""
    (tmp_path / "a.txt").write_text("a file " * 100)
    rc, out, err = run("render", tmp_path / "a.txt", "-", "-o", tmp_path / "out", "--json", "-j", "2",
                       stdin=b"piped text " * 100)
    assert rc == 0, err
    m = json.loads((tmp_path / "out" / "stdin" / "manifest.json").read_text())
    assert m["source"]["name"] == "stdin" and m["source"]["characters"] == len("piped text " * 100)
    assert [Path(d["output"]).name.endswith("a.txt") for d in json.loads(out)] == [True, False]
    assert_user_error(*run("render", "-", "-", "-o", tmp_path / "o2", stdin=b"x")[::2], "once")


def test_render_many_inputs_and_a_folder(tmp_path):
    d = tmp_path / "docs"
    (d / "sub").mkdir(parents=True)
    (d / "a.txt").write_text("first document " * 100)
    (d / "sub" / "b.md").write_text("# second\n\ndocument " * 100)
    (tmp_path / "c.txt").write_text("third " * 100)
    rc, out, err = run("render", d, tmp_path / "c.txt", "-o", tmp_path / "out", "--json", "-j", "2")
    assert rc == 0, err
    data = json.loads(out)
    assert len(data) == 3
    for item in data:
        assert (tmp_path / "out").exists() and json.loads(open(item["manifest"]).read())["totals"]["pages"] >= 1


def test_count_prints_accounting(tmp_path):
    f = tmp_path / "t.txt"
    f.write_text("Counting text tokens and vision tokens. " * 300)
    rc, out, err = run("count", f, "--json")
    assert rc == 0, err
    data = json.loads(out)
    assert data["text_tokens"] > 0 and data["vision_tokens"] > 0 and data["pages_detail"][0]["page"] == 1
    assert not (tmp_path / "out").exists()
    rc, out, _ = run("count", f, "--pages")
    assert rc == 0 and "vision tokens" in out


def test_config_show_and_validate(tmp_path):
    rc, out, _ = run("config", "show", "glyph-zh")
    assert rc == 0 and json.loads(out)["font-family"] == "cjk"
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"dpi": 96, "font-path": str(FONTS / "DejaVuSerif.ttf")}))
    rc, out, _ = run("config", "validate", good)
    assert rc == 0 and out.startswith("ok")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"dpi": 0}))
    assert_user_error(*run("config", "validate", bad)[::2], "'dpi'")
    nofont = tmp_path / "nofont.json"
    nofont.write_text(json.dumps({"font-path": "/no/such/Verdana.ttf"}))
    assert_user_error(*run("config", "validate", nofont)[::2], "font file not found")
    rc, out, _ = run("config", "list")
    assert rc == 0 and "glyph-en" in out


# ---- bad input: one line, exit code 2, never a traceback ---------------------------------------
@pytest.fixture
def bad_files(tmp_path):
    files = {
        "empty.txt": b"",
        "blank.txt": b"   \n\n  \n",
        "binary.bin": bytes(range(256)) * 20,
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return tmp_path


@pytest.mark.parametrize("name,fragment", [("empty.txt", "empty"), ("blank.txt", "whitespace"),
                                           ("binary.bin", "binary")])
def test_bad_files(bad_files, name, fragment):
    rc, _, err = run("render", bad_files / name, "-o", bad_files / "o")
    assert_user_error(rc, err, fragment)
    assert not (bad_files / "o" / "manifest.json").exists()


@pytest.mark.parametrize("sets,fragment", [
    (["dpi=0"], "'dpi'"), (["margin-x=300"], "'margin-x'"), (["line-height=-2"], "'line-height'"),
    (["font-path=/missing/font.ttf"], "font file not found"), (["font-family=NoSuchFamily"], "not found"),
    (["alignment=WEIRD"], "alignment"),
])
def test_absurd_theta(tmp_path, sets, fragment):
    f = tmp_path / "t.txt"
    f.write_text("text")
    args = [a for s in sets for a in ("--set", s)]
    rc, _, err = run("render", f, *args, "-o", tmp_path / "o")
    assert_user_error(rc, err, fragment)


def test_other_user_errors(tmp_path):
    assert_user_error(*run("render", tmp_path / "missing.txt")[::2], "no such file")
    assert_user_error(*run("render", "-c", "nopreset", "--sample", "-o", tmp_path)[::2], "neither a preset")
    assert_user_error(*run("render", "--sample", "--model", "gpt-9", "-o", tmp_path)[::2], "unknown vision model")
    assert_user_error(*run("count", "--sample", "--tokenizer", "nope")[::2], "unknown tokenizer")
    (tmp_path / "empty_dir").mkdir()
    assert_user_error(*run("render", tmp_path / "empty_dir")[::2], "no files")


def test_non_utf8_is_detected(tmp_path):
    f = tmp_path / "latin1.txt"
    f.write_bytes("Le garçon était très élégant à la fête, déjà vu. Crème brûlée, naïve façade.\n".encode("cp1252") * 5)
    rc, out, err = run("count", f, "--json")
    assert rc == 0, err
    assert json.loads(out)["characters"] == 5 * 77


def test_utf16_with_bom(tmp_path):
    f = tmp_path / "u16.txt"
    f.write_bytes("ünïcödé text\n".encode("utf-16"))
    rc, out, err = run("count", f, "--json")
    assert rc == 0, err
    assert json.loads(out)["characters"] == 13


def test_nul_and_control_characters(tmp_path):
    f = tmp_path / "ctrl.txt"
    f.write_bytes(b"nul\x00here, bell\x07, escape\x1b[31m, delete\x7f end\n" * 20)
    rc, out, err = run("render", f, "-o", tmp_path / "o", "--json")
    assert rc == 0, err


def test_five_megabyte_line_and_a_million_newlines(tmp_path):
    long_line = tmp_path / "long.txt"
    long_line.write_text("x" * 5_000_000)
    rc, out, err = run("count", long_line, "--json")
    assert rc == 0, err
    assert json.loads(out)["pages"] > 100
    newlines = tmp_path / "nl.txt"
    newlines.write_text("top" + "\n" * 1_000_000 + "bottom")
    rc, out, err = run("count", newlines, "--json", "-c", "tight")
    assert rc == 0, err
    data = json.loads(out)
    assert data["characters"] == 1_000_009 and data["pages"] == -(-1_000_001 // 82)  # 82 lines a page
    rc, out, err = run("count", newlines, "--json")  # 81 lines a page; every 30th source line makes none
    assert rc == 0, err
    assert -(-1_000_001 * 29 // 30 // 81) <= json.loads(out)["pages"] <= -(-1_000_001 // 70)


def test_emoji_rtl_combining(tmp_path):
    f = tmp_path / "u.txt"
    f.write_text("emoji 😀👍🏽 👨‍👩‍👧 RTL שלום مرحبا Devanagari नमस्ते combining e\u0301 Z\u0335\u0321\u0362\n" * 10)
    rc, out, err = run("render", f, "-o", tmp_path / "o", "--json")
    assert rc == 0, err
    assert json.loads(out)["pages"] == 1


@pytest.mark.parametrize("text,encoding", [("视觉文本压缩把长文本渲染成紧凑的页面图像，再由模型阅读。", "gb18030"),
                                           ("日本語の文章も同じページに入ります。これはテストです。", "shift_jis")])
def test_cjk_legacy_encodings(tmp_path, text, encoding):
    from glyphpress.io import read_source

    f = tmp_path / "t.txt"
    f.write_bytes(text.encode(encoding) * 5)
    assert read_source(str(f)).text == text * 5


def test_render_markdown_code_folder_bundle(tmp_path):
    d = tmp_path / "proj"
    (d / "src").mkdir(parents=True)
    (d / "notes.md").write_text("# Notes\n\n- item **one**\n- item two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    (d / "src" / "main.py").write_text("def main():\n    print('hi')\n")
    (d / "readme.txt").write_text("plain text\n")
    rc, out, err = run("render", d, "--bundle", "--line-numbers", "-o", tmp_path / "o", "--json")
    assert rc == 0, err
    m = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert m["source"]["format"] == "bundle"
    assert [x["name"].rsplit("/", 1)[-1] for x in m["documents"]] == ["notes.md", "readme.txt", "main.py"]
    rc, out, err = run("count", d / "notes.md", "--json")
    assert rc == 0, err
    rc, out, err = run("count", d / "notes.md", "--format", "text", "--json")
    assert rc == 0, err
    assert_user_error(*run("count", d / "notes.md", "--format", "doc")[::2], "unknown format")
    assert_user_error(*run("count", d / "notes.md", "--format", "pdf")[::2], "not a readable PDF")


def test_render_pdf_markdown_and_folder(tmp_path):
    from .document.test_formats import make_pdf

    (tmp_path / "doc.pdf").write_bytes(make_pdf(2))
    (tmp_path / "notes.md").write_text("# Notes\n\ntext **bold**\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("print('a')\n")
    rc, out, err = run("render", "doc.pdf", "notes.md", "src/", "-o", "out", "--json", cwd=tmp_path)
    assert rc == 0, err
    data = json.loads(out)
    assert len(data) == 3
    rc, out, err = run("count", "doc.pdf", "--pdf-mode", "raster", "--pdf-dpi", "60", "--json", cwd=tmp_path)
    assert rc == 0, err
    assert json.loads(out)["pages"] == 2
    assert_user_error(*run("count", "doc.pdf", "--max-pages", "1", cwd=tmp_path)[::2], "over the limit of 1")
    assert_user_error(*run("count", "doc.pdf", "--pdf-mode", "vector", cwd=tmp_path)[::2], "unknown PDF mode")
    (tmp_path / "locked.pdf").write_bytes(make_pdf(1, encrypt="pw"))
    assert_user_error(*run("count", "locked.pdf", cwd=tmp_path)[::2], "--password")
    rc, out, err = run("count", "locked.pdf", "--password", "pw", "--json", cwd=tmp_path)
    assert rc == 0, err


def test_plain_text_render_imports_no_heavy_stack(tmp_path):
    # start-up time: a plain-text render needs none of the document readers, the server or HTTP
    src = tmp_path / "in.txt"
    src.write_text("Some plain text.\n" * 200, encoding="utf-8")
    script = (
        "import sys\n"
        "from glyphpress.cli import main\n"
        f"sys.argv = ['glyphpress', 'render', {str(src)!r}, '-o', {str(tmp_path / 'out')!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    loaded = {m.split(".")[0] for m in out.stdout.strip().splitlines()[-1].split()}
    assert (tmp_path / "out" / "manifest.json").is_file()
    for heavy in ("markdown_it", "pypdfium2", "fastapi", "httpx", "defusedxml", "pygments", "uvicorn", "starlette",
                  "torch", "transformers", "reportlab"):
        assert heavy not in loaded, heavy


def test_a_folders_empty_and_binary_files_are_skipped_with_a_warning_each(tmp_path):
    d = tmp_path / "docs"
    d.mkdir()
    for i in range(3):
        (d / f"doc{i}.txt").write_text(f"document number {i} " * 50)
    (d / "empty.txt").write_text("")
    (d / "blank.txt").write_text("  \n\t\n")
    (d / "blob.bin").write_bytes(bytes(range(256)) * 20)
    rc, out, err = run("render", d, "-o", tmp_path / "out", "--json", "-j", "2")
    assert rc == 0, err
    assert len(json.loads(out)) == 3 and len(list((tmp_path / "out").iterdir())) == 3
    warnings = [ln for ln in err.splitlines() if ln.startswith("warning: skipped")]
    assert len(warnings) == 3 and any("blob.bin" in w and "binary" in w for w in warnings)
    assert "3 rendered, 3 skipped" in err
    rc, out, err = run("count", d, "--json")
    assert rc == 0 and len(json.loads(out)) == 3 and "3 counted, 3 skipped" in err
    rc, out, err = run("render", d, "--bundle", "-o", tmp_path / "bundle", "--json")
    assert rc == 0 and json.loads(out)["pages"] >= 1 and "1 rendered, 3 skipped" in err
    # named on its own, an empty file is still an error (exit 2), whatever else renders
    rc, out, err = run("render", d / "empty.txt", d / "doc0.txt", "-o", tmp_path / "o2")
    assert rc == 2 and "empty.txt: is empty" in err
    # a folder of nothing but such files renders nothing: an error
    only = tmp_path / "only"
    only.mkdir()
    (only / "e.txt").write_text("")
    (only / "f.txt").write_text("")
    rc, out, err = run("render", only, "-o", tmp_path / "o3")
    assert rc == 2


# ---- images and scans: pages as they are, their text read by OCR ---------------------------------------------
def run_without_ocr(*args, cwd=None):
    """The command as it runs where the ocr extra is not installed (RapidOCR cannot be imported)."""
    script = ("import sys\nsys.modules['rapidocr'] = None\nfrom glyphpress.cli import main\n"
              f"sys.argv = ['glyphpress', *{[str(a) for a in args]!r}]\nmain()\n")
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, cwd=cwd, timeout=300)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


@needs.package("rapidocr", "onnxruntime")
def test_an_image_renders_counts_and_extracts_with_its_ocr_text(tmp_path):
    from PIL import Image

    from .document.test_images import PAGE, draw, read_most

    draw(PAGE).save(tmp_path / "shot.png")
    rc, out, err = run("render", "shot.png", "-o", "out", "--json", cwd=tmp_path)
    assert rc == 0 and not err.strip(), err
    data = json.loads(out)
    assert data["pages"] == 1 and data["text_tokens"] > 15
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["source"]["format"] == "image"
    with Image.open(tmp_path / "out" / "page_0001.png") as page:
        assert page.size == (595, round(595 * 320 / 900))  # glyph-en's page is 595 pixels wide
    rc, out, err = run("extract", "shot.png", "--to", "text", cwd=tmp_path)
    assert rc == 0 and read_most(out, " ".join(PAGE)), err
    # a folder's images are pages now, not binary files skipped; a truncated one is a one-line error
    (tmp_path / "d").mkdir()
    draw(["Second picture of the folder."]).save(tmp_path / "d" / "b.jpg")
    (tmp_path / "d" / "notes.txt").write_text("Some notes.\n")
    rc, out, err = run("count", "d", "--json", cwd=tmp_path)
    assert rc == 0 and [r["name"] for r in json.loads(out)] == ["d/b.jpg", "d/notes.txt"], err
    assert json.loads(out)[0]["text_tokens"] >= 5 and "skipped" not in err
    rc, out, err = run("render", "shot.png", "d/notes.txt", "--bundle", "-o", "b", "--json", cwd=tmp_path)
    assert rc == 0, err
    bundled = json.loads((tmp_path / "b" / "manifest.json").read_text())["documents"]
    assert [d["name"] for d in bundled] == ["shot.png", "d/notes.txt"]
    assert err.strip() == "warning: shot.png: an image joins the bundle as the text OCR read on it"


def test_bad_images_are_one_line_errors(tmp_path):
    from .document.test_images import PAGE, draw, png_claiming

    draw(PAGE).save(tmp_path / "shot.png")
    data = (tmp_path / "shot.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    (tmp_path / "bomb.png").write_bytes(png_claiming(50_000, 50_000))
    for name, fragment in (("cut.png", "cut.png: not a readable image, corrupt or truncated"),
                           ("bomb.png", "decompression bomb")):
        for command in ("render", "count", "extract"):
            assert_user_error(*run(command, name, cwd=tmp_path)[::2], fragment)


def test_without_the_ocr_extra_an_image_renders_with_a_warning_and_extract_fails(tmp_path):
    from .document.test_images import PAGE, draw

    draw(PAGE).save(tmp_path / "shot.png")
    rc, out, err = run_without_ocr("count", "shot.png", "--json", cwd=tmp_path)
    assert rc == 0 and json.loads(out)["pages"] == 1, err
    assert err.strip() == ("warning: shot.png: an image has no text layer, so no text tokens are counted (install "
                           "glyphpress[ocr] to read it with RapidOCR)")
    assert_user_error(*run_without_ocr("extract", "shot.png", cwd=tmp_path)[::2],
                      "shot.png: an image has no text to extract without OCR; install glyphpress[ocr]")
