"""The simulator's ONVIF side: SOAP 1.2 services (Device, Media, Profile G) and the WS-Discovery responder.

Messages are built and parsed with lxml against the real ONVIF namespaces, so independent clients
(onvif-zeep-async, WSDiscovery, vendor tools) read them exactly as they read a camera's.
"""
