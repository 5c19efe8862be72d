"""Tests of the LAN protocol clients."""
