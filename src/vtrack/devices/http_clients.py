"""HTTP clients for talking to devices: one small client per device, never one shared pool for a sweep.

Measured on a 254-host x 3-port sweep (bench/discovery.py): one httpx client with 256 pooled
connections spent most of its CPU walking its own pool (httpcore scans every connection per request)
and took 30 s with timeouts; a client per device with a shared TLS context took 4.4 s. Creating a
client is cheap once the TLS context (loading the CA bundle, ~70 ms) is built only once.
"""

from __future__ import annotations

import ssl
from functools import cache

import httpx


@cache
def tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def device_client() -> httpx.AsyncClient:
    """A client for one device: a few connections, no redirects (a device never needs them)."""
    return httpx.AsyncClient(
        verify=tls_context(), limits=httpx.Limits(max_connections=4), follow_redirects=False
    )
