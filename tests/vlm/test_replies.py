from glyphpress.vlm.replies import TRIES, first_json


def is_rows(v):
    return isinstance(v, list) and all(isinstance(x, dict) for x in v)


def test_the_first_value_of_the_wanted_shape_after_prose_and_in_fences():
    reply = 'Sure [1, 2] is not it. ```json\n[{"topic": "dates", "sides": []}]\n``` and [{"later": 1}]'
    assert first_json(reply, "[", is_rows) == [{"topic": "dates", "sides": []}]
    assert first_json('{"analysis": "x"} then {"candidates": []}', "{",
                      lambda v: isinstance(v.get("candidates"), list)) == {"candidates": []}


def test_hostile_replies_give_none_not_an_error():
    assert first_json("[" * 100_000, "[", is_rows) is None  # nested too deep, and brackets only
    assert first_json("no json here", "{", lambda v: True) is None
    late = "[x " * TRIES + '[{"a": 1}]'  # past the openers tried
    assert first_json(late, "[", is_rows) is None
    assert first_json("[x " * (TRIES - 1) + '[{"a": 1}]', "[", is_rows) == [{"a": 1}]
