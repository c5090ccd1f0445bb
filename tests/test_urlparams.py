"""Settings from a URL: valid ones round-trip exactly, hostile ones are clamped or dropped."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from gptviz.urlparams import (
    BoolParam,
    ChoiceParam,
    FloatParam,
    IntParam,
    TextParam,
    encode_params,
    left_out,
    parse_params,
    share_url,
)

SPECS = {
    "layers": IntParam(1, 8),
    "lr": FloatParam(1e-5, 100.0),
    "bias": BoolParam(),
    "device": ChoiceParam(("cpu", "cuda")),
    "seq": TextParam(100, "0-9a-z", "the symbols 0-9 and a-z"),
}
GOOD = {"layers": 3, "lr": 0.001, "bias": True, "device": "cuda", "seq": "01101"}


def test_values_round_trip_through_a_share_url():
    url = share_url("http://host/baby_gpt", GOOD, SPECS)
    assert url.startswith("http://host/baby_gpt?")
    raw = parse_qs(urlsplit(url).query, keep_blank_values=True)
    values, messages = parse_params(raw, SPECS)
    assert values == GOOD and messages == []


def test_a_link_carries_no_value_it_cannot_parse_back_and_says_which_it_left_out():
    prompt = TextParam(200)
    specs = {**SPECS, "prompt": prompt}
    values = {**GOOD, "seq": "0110 1\n" + "01" * 60, "prompt": "x" * 1_000_000}
    params = encode_params(values, specs)
    assert "prompt" not in params and "seq" not in params  # 125 symbols > 100; 1 MB > 200
    assert len(share_url("http://h/p", values, specs)) < 200  # the URL stays small
    notes = left_out(values, specs)
    assert notes == [
        "`seq` is left out of the link: a link carries at most 100 characters, so the link "
        "opens this page with that setting at its default.",
        "`prompt` is left out of the link: a link carries at most 200 characters, so the "
        "link opens this page with that setting at its default."]
    # spaces and line breaks in a run of symbols only lengthen a link: they are dropped there;
    # free text keeps them
    short = {"seq": "0110 1\n01", "prompt": "Hello,  I am"}
    assert encode_params(short, specs) == {"seq": "0110101", "prompt": "Hello,  I am"}
    assert left_out(short, specs) == [] and left_out(GOOD, SPECS) == []


def test_float_encoding_is_exact():
    for lr in (1e-3, 3e-4, 0.1 + 0.2, 1e-5):
        assert float(encode_params({"lr": lr}, SPECS)["lr"]) == lr


@pytest.mark.parametrize("name, raw, value, words", [
    ("layers", "999999", 8, "above the maximum 8"),
    ("layers", "-5", 1, "below the minimum 1"),
    ("layers", "1e3", 8, "above the maximum"),
    ("layers", "2.0", 2, None),
    ("lr", "1e9", 100.0, "above the maximum"),
    ("lr", "0", 1e-5, "below the minimum"),
])
def test_out_of_range_numbers_are_clamped_with_a_message(name, raw, value, words):
    values, messages = parse_params({name: raw}, SPECS)
    assert values == {name: value}
    if words:
        assert len(messages) == 1 and words in messages[0] and f"`{name}`" in messages[0]
    else:
        assert messages == []


@pytest.mark.parametrize("name, raw, words", [
    ("layers", "abc", "not a number"),
    ("layers", "2.5", "not a whole number"),
    ("layers", "nan", "not a finite number"),
    ("lr", "inf", "not a finite number"),
    ("lr", "", "not a number"),
    ("layers", "9" * 5000, "too long"),
    ("bias", "maybe", "must be 1 or 0"),
    ("device", "tpu", "must be one of cpu, cuda"),
    ("device", "<script>alert(1)</script>", "must be one of"),
    ("seq", "<img src=x onerror=alert(1)>", "may only hold the symbols 0-9 and a-z"),
    ("seq", "0" * 101, "longer than 100"),
])
def test_malformed_values_are_dropped_with_a_message_that_does_not_echo_them(name, raw, words):
    values, messages = parse_params({name: raw}, SPECS)
    assert values == {}
    assert len(messages) == 1 and words in messages[0]
    assert "<" not in messages[0] and "999" not in messages[0]


def test_unknown_and_too_many_parameters_are_ignored():
    raw = {f"junk{i}": "1" for i in range(60)}
    values, messages = parse_params(raw, SPECS)
    assert values == {}
    assert any("more than 50" in m for m in messages)
    assert any("50 setting(s) this page does not know" in m for m in messages)


def test_repeated_parameters_take_the_last_value():
    values, _ = parse_params({"layers": ["2", "5"], "seq": []}, SPECS)
    assert values == {"layers": 5, "seq": ""}
