"""The column set shared by import and export, so an export always imports back unchanged."""

from __future__ import annotations

COLUMNS = (
    "name",
    "rtsp_url",
    "username",
    "password",
    "group",
    "location",
    "description",
    "protocol",
    "onvif_url",
    "manufacturer",
    "model",
    "resolution",
    "fps",
    "codec",
    "is_active",
    "enable_detection",
    "detection_sensitivity",
)

# Spreadsheet programs run cells that start with these as formulas (CSV injection); such cells are
# exported behind a single quote, and the importer takes the quote off again.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _needs_quote(value: str) -> bool:
    # A value that already starts with quotes before a formula character ("'=x") is quoted too, so the
    # importer's unquoting gives back exactly what was exported.
    return value.lstrip("'").startswith(_FORMULA_START)


def protect_cell(value: str) -> str:
    return "'" + value if _needs_quote(value) else value


def unprotect_cell(value: str) -> str:
    return value[1:] if value.startswith("'") and _needs_quote(value[1:]) else value
