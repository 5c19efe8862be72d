"""How Hikvision's ISAPI writes XML: the ver20 namespace on the root, version="2.0", ResponseStatus errors.

Error answers carry the HTTP status plus ISAPI's own statusCode (1 OK, 4 Invalid Operation, 5 Invalid XML
Format, 6 Invalid XML Content) and a subStatusCode word, which is what ISAPI clients branch on.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from aiohttp import web

HIKVISION_NAMESPACE = "http://www.hikvision.com/ver20/XMLSchema"
XML_CONTENT_TYPE = 'application/xml; charset="UTF-8"'
_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

_STATUS_STRINGS = {1: "OK", 4: "Invalid Operation", 5: "Invalid XML Format", 6: "Invalid XML Content"}


def document(tag: str) -> ET.Element:
    """A root element in Hikvision's default namespace (written as a plain xmlns, as the devices do)."""
    return ET.Element(tag, {"version": "2.0", "xmlns": HIKVISION_NAMESPACE})


def add(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def serialize(root: ET.Element) -> bytes:
    """One element per line, unindented, as the firmware writes it."""
    ET.indent(root, space="")
    return (_DECLARATION + ET.tostring(root, encoding="unicode") + "\n").encode()


def xml_response(root: ET.Element, *, status: int = 200, malformed: bool = False) -> web.Response:
    """The document as a response; with the malformed_xml fault cut off halfway, as a flaky device does."""
    body = serialize(root)
    if malformed:
        body = body[: len(body) // 2]
    return web.Response(status=status, body=body, headers={"Content-Type": XML_CONTENT_TYPE})


def response_status(request_url: str, status_code: int, sub_status: str) -> ET.Element:
    root = document("ResponseStatus")
    add(root, "requestURL", request_url)
    add(root, "statusCode", str(status_code))
    add(root, "statusString", _STATUS_STRINGS[status_code])
    add(root, "subStatusCode", sub_status)
    return root


def error_response(request: web.Request, http_status: int, status_code: int, sub_status: str) -> web.Response:
    return xml_response(response_status(request.path, status_code, sub_status), status=http_status)


def unauthorized_body() -> bytes:
    """The body Hikvision sends with its 401 challenge."""
    root = document("userCheck")
    add(root, "statusValue", "401")
    add(root, "statusString", "Unauthorized")
    return serialize(root)


def bad_request_body() -> bytes:
    root = response_status("/", 4, "badParameters")
    return serialize(root)
