"""Both catalogs complete and consistent, and every literal key the templates and scripts use defined."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

from vtrack.web.i18n import LANGUAGES, Translator, catalog

WEB = Path(__file__).resolve().parents[2] / "src" / "vtrack" / "web"
LOCALES = WEB / "locales"
# A whole literal key: t("a.b") or t("a.b", x=1); a prefix joined at run time (t("a." ~ kind)) is skipped.
TEMPLATE_KEY = re.compile(r"""\bt\(\s*['"]([a-z0-9_.]+)['"]\s*[,)]""")
SCRIPT_KEY = re.compile(r"""\b(?:vt\.)?t\(\s*['"](js\.[a-z0-9_.]+)['"]\s*[,)]""")


def _files(language: str) -> dict[str, dict[str, str]]:
    return {p.name: json.loads(p.read_text("utf-8")) for p in sorted((LOCALES / language).glob("*.json"))}


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_language_has_the_same_files_and_keys() -> None:
    english = _files("en")
    for language in LANGUAGES:
        files = _files(language)
        assert files.keys() == english.keys(), language
        for name, messages in files.items():
            assert messages.keys() == english[name].keys(), f"{language}/{name}"


def test_a_key_is_defined_in_one_file_only() -> None:
    seen: dict[str, str] = {}
    for name, messages in _files("en").items():
        for key in messages:
            assert key not in seen, f"{key} in both {seen[key]} and {name}"
            seen[key] = name


def test_translations_keep_the_placeholders() -> None:
    english = catalog("en")
    for language in LANGUAGES:
        for key, text in catalog(language).items():
            assert _placeholders(text) == _placeholders(english[key]), f"{language}: {key}"
            assert text.strip(), f"{language}: {key} is empty"


def test_vietnamese_is_written_in_vietnamese() -> None:
    vietnamese = catalog("vi")
    marked = [
        k for k, v in vietnamese.items() if re.search(r"[ăâđêôơưàáạảãèéẹẻẽìíịỉĩòóọỏõùúụủũỳýỵỷỹ]", v, re.I)
    ]
    assert len(marked) / len(vietnamese) > 0.6, "most Vietnamese strings carry diacritics"


def test_every_key_used_literally_exists() -> None:
    known = set(catalog("en"))
    missing = set()
    for template in WEB.joinpath("templates").rglob("*.html"):
        missing |= {
            f"{template.name}: {key}" for key in TEMPLATE_KEY.findall(template.read_text("utf-8"))
        } - {f"{template.name}: {key}" for key in known}
    for script in WEB.joinpath("static", "js").glob("*.js"):
        missing |= {f"{script.name}: {key}" for key in SCRIPT_KEY.findall(script.read_text("utf-8"))} - {
            f"{script.name}: {key}" for key in known
        }
    assert not missing, sorted(missing)


def test_a_missing_key_falls_back_to_english_then_the_key() -> None:
    assert Translator("vi")("nav.cameras") == "Camera"
    assert Translator("xx")("nav.logout") == "Sign out"
    assert Translator("vi")("no.such.key") == "no.such.key"
    assert Translator("en")("nav.timezone", zone="Asia/Ho_Chi_Minh") == "Times shown in Asia/Ho_Chi_Minh"
