"""vtrack: a self-hosted hub for CCTV video."""

__version__ = "0.1.0"
