"""Clients for what runs on the LAN: ONVIF devices, RTSP streams and the vendors' own HTTP APIs."""
