"""Message catalogs (English and Vietnamese) and the choice of language per request.

Catalogs are flat JSON maps from a dotted key to text with `{name}` placeholders, one file per page area
under locales/<language>/ (merged; a key may appear in one file only). A missing key falls back
to English and then to the key itself, so a page never fails over a string; a test keeps both catalogs
complete and every key the templates use present.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from starlette.requests import Request

LANGUAGES: dict[str, str] = {"en": "English", "vi": "Tiếng Việt"}
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "vtrack_lang"


@cache
def catalog(language: str) -> Mapping[str, str]:
    folder = resources.files("vtrack.web").joinpath("locales", language)
    data: dict[str, str] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            data.update(json.loads(entry.read_text("utf-8")))
    return data


class Translator:
    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        self._messages = catalog(self.language)
        self._fallback = catalog(DEFAULT_LANGUAGE)

    def __call__(self, key: str, **values: Any) -> str:
        text = self._messages.get(key) or self._fallback.get(key) or key
        return text.format(**values) if values else text

    def messages(self, prefix: str) -> dict[str, str]:
        """The keys under `prefix` for scripts that build text in the browser."""
        keys = {k for k in self._fallback if k.startswith(prefix)}
        return {k: self(k) for k in sorted(keys)}


def pick_language(request: Request) -> str:
    """The switch's cookie, else the browser's first supported Accept-Language, else English."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE
