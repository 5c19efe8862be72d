"""Recording sync: list what a device recorded, diff it against the archive index, fetch what is missing."""
