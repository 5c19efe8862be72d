"""Names typed by people become one safe, readable path component, and a second pass changes nothing."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vtrack.archive.names import MAX_NAME_BYTES, sanitise_name


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Cổng trước", "Cổng trước"),
        ("Bãi đỗ xe - Tầng 2 (B2)", "Bãi đỗ xe - Tầng 2 (B2)"),
        ("Co\u0302\u0309ng tru\u031bo\u031b\u0301c", "Cổng trước"),  # decomposed input, as macOS gives it
        ("Front Door Camera", "Front Door Camera"),
        ("nvr_localhost", "nvr_localhost"),
        ("  Kho   hàng\t\n1  ", "Kho hàng 1"),
    ],
)
def test_readable_names_stay_readable(raw: str, expected: str) -> None:
    assert sanitise_name(raw) == expected
    assert unicodedata.is_normalized("NFC", sanitise_name(raw))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "_.._etc_passwd"),
        ("..\\..\\windows", "_.._windows"),
        ("/absolute", "_absolute"),
        ("..", "_"),
        (".", "_"),
        ("...", "_"),
        ("", "_"),
        ("   ", "_"),
        (".hidden", "hidden"),
        ("trailing. . ", "trailing"),
        ("a\x00b", "a_b"),
        ("bell\x07", "bell_"),
        ('Kho:2*?"<>|', "Kho_2______"),
        ("right\u202eleft", "right_left"),  # a bidi override would make the name lie about itself
    ],
)
def test_separators_controls_and_traversal_are_neutralised(raw: str, expected: str) -> None:
    assert sanitise_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("CON", "CON_"),
        ("con", "con_"),
        ("Nul.mp4", "Nul_.mp4"),
        ("aux.tar.gz", "aux_.tar.gz"),
        ("COM1", "COM1_"),
        ("lpt9.txt", "lpt9_.txt"),
        ("COM\u00b9", "COM\u00b9_"),
        ("con .txt", "con _.txt"),
        ("CONSOLE", "CONSOLE"),
        ("COM10", "COM10"),
        ("COM0", "COM0"),
    ],
)
def test_windows_device_names_get_a_suffix_on_the_stem(raw: str, expected: str) -> None:
    assert sanitise_name(raw) == expected


def test_long_names_are_cut_on_a_character_boundary() -> None:
    ascii_name = sanitise_name("x" * 500)
    assert ascii_name == "x" * MAX_NAME_BYTES
    vietnamese = sanitise_name("Cổng trước " * 40)  # 3-byte letters straddle the cut
    assert len(vietnamese.encode()) <= MAX_NAME_BYTES
    assert vietnamese.startswith("Cổng trước Cổng")
    assert not vietnamese.endswith(" ")
    assert len(sanitise_name("CON." + "a" * 200).encode()) <= MAX_NAME_BYTES


_tricky = st.sampled_from(
    [*'./\\:*?"<>| \t\n\x00\x1f\u00a0\u200b\u0301\u0302-_()', "CON", "lpt1", "ổ", "..."]
)
names = st.lists(st.one_of(_tricky, st.characters(), st.text(max_size=3)), max_size=60).map("".join)


@settings(max_examples=400, deadline=None)
@given(names)
def test_output_is_always_one_safe_component(raw: str) -> None:
    name = sanitise_name(raw)
    assert name not in {"", ".", ".."}
    assert not {"/", "\\", "\x00"} & set(name)
    assert len(name.encode()) <= MAX_NAME_BYTES
    assert name == name.strip(". ")
    assert unicodedata.is_normalized("NFC", name)
    assert sanitise_name(name) == name


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("COMNULPRTAUX123.con ")), max_size=8))
def test_no_output_is_a_windows_device_name(raw: str) -> None:
    stem = sanitise_name(raw).partition(".")[0].rstrip(" ").upper()
    assert stem not in {"CON", "PRN", "AUX", "NUL"} | {f"{p}{d}" for p in ("COM", "LPT") for d in "123456789"}
