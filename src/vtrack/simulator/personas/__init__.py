"""Vendor personas: the HTTP APIs Hikvision (ISAPI) and Dahua (CGI) devices serve beside ONVIF, with Digest.

vtrack's device clients talk to these APIs to find and download recordings; the personas let the tests and
`vtrack simulate` exercise those clients against something that answers the way real devices do.
"""
