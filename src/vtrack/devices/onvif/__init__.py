"""vtrack's ONVIF client side: SOAP calls with WS-Security, device interrogation and WS-Discovery."""
