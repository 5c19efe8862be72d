"""Allows `python -m vtrack`."""

from vtrack.cli import main

main()
