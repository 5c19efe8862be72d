"""Errors of the analytics layer, each naming what the user must fix."""

from __future__ import annotations


class AnalyticsError(Exception):
    """Base class: something in analytics could not be done."""


class AnalyticsConfigError(AnalyticsError):
    """A setting the user gave is wrong; `field` names it (CLI option, API field, JSON key)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ModelError(AnalyticsError):
    """A model file cannot be loaded or lacks the shape its loader expects; the message names the path."""
