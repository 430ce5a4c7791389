import json

import pytest

from glyphpress import ConfigError, RenderConfig, load_config, preset
from glyphpress.config import MARKER_NEWLINE, PRESETS, PUBLISHED_KEYS, parse_newline_markup

from .conftest import FONTS

PUBLISHED_EN = {
    "page-size": "595,842", "dpi": 72, "margin-x": 10, "margin-y": 10,
    "font-path": str(FONTS / "DejaVuSans.ttf"), "font-size": 9, "line-height": 10,
    "font-color": "#000000", "alignment": "LEFT", "horizontal-scale": 1.0,
    "first-line-indent": 0, "left-indent": 0, "right-indent": 0, "space-before": 0, "space-after": 0,
    "border-width": 0, "border-padding": 0, "page-bg-color": "#FFFFFF", "para-bg-color": "#FFFFFF",
    "auto-crop-width": True, "auto-crop-last-page": True,
    "newline-markup": '<font color="#FF0000"> \\n </font>',
}


def test_published_config_loads_unchanged(tmp_path):
    f = tmp_path / "config_en.json"
    f.write_text(json.dumps(PUBLISHED_EN))
    cfg = load_config(str(f))
    assert cfg.page_size == (595, 842) and cfg.dpi == 72 and cfg.font_size == 9 and cfg.line_height == 10
    assert cfg.font_path == PUBLISHED_EN["font-path"]
    assert cfg.newline.text == " \\n " and cfg.newline.color == "#FF0000"
    out = cfg.to_dict()
    for key, value in PUBLISHED_EN.items():
        assert out[key] == value, key
    assert set(PUBLISHED_KEYS) == set(PUBLISHED_EN)


def test_to_dict_round_trip():
    cfg = preset("dense").replace(columns=2, alignment="JUSTIFY")
    assert RenderConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_are_valid(name):
    cfg = preset(name)
    assert cfg.dpi > 0


def test_preset_values():
    assert preset("readable").dpi == 96
    assert preset("code").font_family == "mono"
    assert preset("glyph-zh").font_family == "cjk"
    assert preset("glyph-en").newline.text is None
    assert preset("dense").newline_markup == MARKER_NEWLINE


def test_overrides_parse_json_values():
    cfg = preset("glyph-en").with_overrides(["dpi=96", "alignment=justify", "auto-crop-width=false",
                                             "page-size=Letter", "columns=2"])
    assert cfg.dpi == 96 and cfg.alignment == "JUSTIFY" and cfg.auto_crop_width is False
    assert cfg.page_size == (612, 792) and cfg.columns == 2


@pytest.mark.parametrize("pair,message", [
    ("dpi=0", "'dpi': must be greater than 0"),
    ("dpi=-5", "'dpi'"),
    ("line-height=-1", "'line-height'"),
    ("font-size=0", "'font-size'"),
    ("margin-x=400", "'margin-x'"),
    ("margin-y=500", "'margin-y'"),
    ("alignment=DIAGONAL", "one of LEFT, CENTER, RIGHT, JUSTIFY"),
    ("font-color=notacolour", "'font-color': not a colour"),
    ("columns=7", "'columns'"),
    ("horizontal-scale=0", "'horizontal-scale'"),
    ("fnt-size=9", "did you mean 'font-size'"),
    ("dpi=abc", "'dpi': expected a number"),
    ("page-size=1,2,3", "'page-size'"),
    ("auto-crop-width=maybe", "true or false"),
    ("dpi=1200", "over the limit"),
    ("nokeyvalue", "key=value"),
])
def test_validation_messages_name_the_key(pair, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        preset("glyph-en").with_overrides([pair])


def test_bad_json_file(tmp_path):
    f = tmp_path / "bad.json"
    f.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(str(f))
    with pytest.raises(ConfigError, match="neither a preset"):
        load_config(str(tmp_path / "missing.json"))
    f.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="JSON object"):
        load_config(str(f))


def test_reportlab_alignment_numbers():
    assert RenderConfig.from_dict({"alignment": 4}).alignment == "JUSTIFY"


def test_newline_markup_forms():
    assert parse_newline_markup("<br/>").text is None
    assert parse_newline_markup(None).text is None
    m = parse_newline_markup("marker")
    assert m.text == " \\n " and m.color == "#FF0000"
    m = parse_newline_markup("<font color='#00F'>⏎</font>")
    assert m.text == "⏎" and m.color == "#00F"
    assert parse_newline_markup(" | ").text == " | "
