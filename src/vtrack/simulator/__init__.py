"""Virtual ONVIF cameras and NVRs: SOAP services, WS-Discovery, an RTSP server and vendor personas."""
