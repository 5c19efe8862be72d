"""Turning user-typed source and camera names into one safe path component.

Names come from people ("Cổng trước", "Kho/2", "CON") and end up as directories that operators browse
on Linux, over SMB from Windows, and in zip exports. So the rule is a whitelist: letters (any script,
diacritics kept, NFC so "ổ" is one code point everywhere), marks, digits, spaces and -_.() survive;
everything else becomes "_". The result is one component: never a separator, never "." or "..", never a
Windows device name, never longer than most filesystems' 255-byte limit minus room for our suffixes.
"""

from __future__ import annotations

import re
import unicodedata

MAX_NAME_BYTES = 120
REPLACEMENT = "_"
_KEPT_PUNCTUATION = frozenset("-_.()")
_KEPT_CATEGORIES = ("L", "M", "N")  # letters, combining marks, digits and other numbers
_SPACES = re.compile(" {2,}")
_EDGES = ". "
# Windows refuses these as a file's stem whatever the extension ("nul.mp4" is the null device too),
# including the superscript-digit COM/LPT forms.
_DIGITS = [*"123456789", "\u00b9", "\u00b2", "\u00b3"]
_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"COM{d}" for d in _DIGITS} | {f"LPT{d}" for d in _DIGITS}
)


def sanitise_name(name: str) -> str:
    """One safe, readable path component for `name`; idempotent, so a stored name maps to itself."""
    text = "".join(_map_char(ch) for ch in unicodedata.normalize("NFC", name))
    text = _truncate(_SPACES.sub(" ", text).strip(_EDGES))
    if not text:
        return REPLACEMENT
    text = _unreserve(text)
    return _truncate(text) if len(text.encode()) > MAX_NAME_BYTES else text


def _map_char(ch: str) -> str:
    if ch.isspace():
        return " "  # tabs and newlines read as spaces, then collapse
    if ch in _KEPT_PUNCTUATION or unicodedata.category(ch).startswith(_KEPT_CATEGORIES):
        return ch
    return REPLACEMENT  # separators, controls, NUL, :*?"<>|, format and private-use characters


def _truncate(text: str) -> str:
    """Cut to MAX_NAME_BYTES of UTF-8 on a code point boundary, then drop an edge the cut exposed."""
    encoded = text.encode()
    if len(encoded) <= MAX_NAME_BYTES:
        return text
    return encoded[:MAX_NAME_BYTES].decode(errors="ignore").rstrip(_EDGES)


def _unreserve(text: str) -> str:
    """Device names get "_" on the stem, where Windows looks: "CON" -> "CON_", "nul.mp4" -> "nul_.mp4"."""
    stem, dot, rest = text.partition(".")
    if stem.rstrip(" ").upper() in _RESERVED:
        return f"{stem}{REPLACEMENT}{dot}{rest}"
    return text
