"""Throwaway external services (peers) that the test suite runs against."""
