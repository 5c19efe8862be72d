"""Counting people: line crossings with direction, and zone entries, exits and dwell, on track anchors."""

from vtrack.analytics.counting.counter import Counter
from vtrack.analytics.counting.specs import LineSpec, ZoneSpec, parse_line, parse_zone

__all__ = ["Counter", "LineSpec", "ZoneSpec", "parse_line", "parse_zone"]
