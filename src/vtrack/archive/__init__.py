"""The recording archive: where synced files go, whether the disk can take them, and what retention removes.

Every path here is derived from sanitised names under one root (the jail), every file appears at its
final path only complete (temp file then rename), and nothing is deleted that the index did not name.
"""
