"""File names of any bytes (issue 21, item 4-5): lossless text form, safe printing, short names."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from maskforge.io.names import NAME_MAX, from_text, printable, short_name, to_bytes, to_text

raw_names = st.binary(min_size=1, max_size=300).filter(lambda b: b"/" not in b and b"\0" not in b)


@given(raw_names)
def test_text_form_is_valid_unicode_and_round_trips(raw: bytes) -> None:
    name = os.fsdecode(raw)
    text = to_text(name)
    text.encode("utf-8")  # always encodable: Parquet, JSON, CSV take it
    if b"\\x" not in raw:  # the one documented ambiguity: a literal backslash-x-hex in a name
        assert from_text(text) == name and to_bytes(from_text(text)) == raw


def test_latin1_name() -> None:
    name = os.fsdecode(b"caf\xe9.jpg")
    assert to_text(name) == "caf\\xe9.jpg" and from_text("caf\\xe9.jpg") == name
    assert to_text("café.jpg") == "café.jpg"


@given(st.text(max_size=60) | raw_names.map(os.fsdecode))
def test_printable_has_no_control_characters(s: str) -> None:
    out = printable(s)
    assert all(c.isprintable() or c == " " for c in out)
    out.encode("utf-8")
    if s.isprintable():
        assert out == s


def test_terminal_escape_is_shown_not_obeyed() -> None:
    assert printable("\x1b]0;pwned\x07Bob") == "\\x1b]0;pwned\\x07Bob"


@given(st.text(min_size=1, max_size=400).filter(lambda s: "/" not in s and "\0" not in s))
def test_short_names_fit_and_are_deterministic(name: str) -> None:
    short = short_name(name)
    assert len(to_bytes(short)) <= NAME_MAX and short == short_name(name)
    if len(to_bytes(name)) <= NAME_MAX:
        assert short == name
    else:
        assert os.path.splitext(short)[1] == (os.path.splitext(name)[1] if len(os.path.splitext(name)[1]) <= 16 else "")


def test_long_names_that_share_a_prefix_stay_distinct(tmp_path: Path) -> None:
    a, b = "x" * 300 + "a.jpg", "x" * 300 + "b.jpg"
    assert short_name(a) != short_name(b)
    (tmp_path / short_name(a)).write_bytes(b"ok")  # the file system takes it


def test_cli_tables_and_messages_escape_control_characters() -> None:
    """Row 20: an identity folder named with terminal escapes was printed raw by inspect."""
    from maskforge.cli._common import table, user_message
    from maskforge.errors import SourceError

    shown = table([("\x1b]0;pwned\x07", 3)], header=("identity", "n"))
    assert "\x1b" not in shown and "\\x1b]0;pwned\\x07" in shown
    assert user_message(SourceError("bad \x1b[31mname")) == "bad \\x1b[31mname"
