"""SOAP 1.2 envelopes and faults as ONVIF devices send them.

ONVIF Core (section 5.11) fixes the fault codes clients branch on: a sender error such as bad credentials is
env:Sender with a ter: subcode and HTTP 400; a missing feature is env:Receiver/ter:ActionNotSupported
with HTTP 500. Clients (zeep among them) read the fault from the body whatever the status, so both matter.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from vtrack.simulator.onvif.xmlns import PREFIXES, SOAP_ENV, XML, Element, el, qname, safe_parser

CONTENT_TYPE = "application/soap+xml; charset=utf-8"


class SoapFault(Exception):
    """A fault to send back; raised anywhere below the dispatcher and turned into a response there."""

    def __init__(
        self, code: str, subcodes: tuple[str, ...], reason: str, http_status: int | None = None
    ) -> None:
        super().__init__(reason)
        self.code = code  # "Sender" or "Receiver"
        self.subcodes = subcodes  # prefixed, outermost first, e.g. ("ter:InvalidArgVal", "ter:NoProfile")
        self.reason = reason
        self.http_status = http_status or (400 if code == "Sender" else 500)


def not_authorized(http_status: int = 400) -> SoapFault:
    return SoapFault("Sender", ("ter:NotAuthorized",), "Sender not Authorized", http_status)


def action_not_supported(action: str) -> SoapFault:
    return SoapFault("Receiver", ("ter:ActionNotSupported",), f"Optional Action Not Implemented: {action}")


def invalid_arg(subcode: str, reason: str) -> SoapFault:
    return SoapFault("Sender", ("ter:InvalidArgVal", subcode), reason)


def not_well_formed(reason: str) -> SoapFault:
    return SoapFault("Sender", ("ter:WellFormed",), reason)


@dataclass(frozen=True)
class Request:
    """A parsed SOAP request: its Header (may be None) and the operation element inside Body."""

    header: Element | None
    operation: Element

    @property
    def namespace(self) -> str:
        return etree.QName(self.operation).namespace or ""

    @property
    def action(self) -> str:
        return etree.QName(self.operation).localname


def parse_request(body: bytes) -> Request:
    """Parse a SOAP 1.2 envelope; anything else is the client's fault (ter:WellFormed)."""
    try:
        root = etree.fromstring(body, parser=safe_parser())
    except etree.XMLSyntaxError as exc:
        raise not_well_formed(f"Request is not well-formed XML: {exc}") from exc
    if root.tag == "{http://schemas.xmlsoap.org/soap/envelope/}Envelope":
        # ONVIF mandates SOAP 1.2; a 1.1 envelope gets a VersionMismatch like a real device sends.
        raise SoapFault("VersionMismatch", (), "SOAP 1.2 envelope expected")
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise not_well_formed("Root element is not a SOAP 1.2 Envelope")
    body_el = root.find(f"{{{SOAP_ENV}}}Body")
    operation = (
        next((child for child in body_el if isinstance(child.tag, str)), None)
        if body_el is not None
        else None
    )
    if operation is None:
        raise not_well_formed("SOAP Body carries no operation")
    return Request(header=root.find(f"{{{SOAP_ENV}}}Header"), operation=operation)


def envelope(payload: Element) -> bytes:
    """Wrap one response element in an Envelope/Body that declares the ONVIF prefixes."""
    root = etree.Element(qname("s:Envelope"), nsmap=PREFIXES)
    etree.SubElement(root, qname("s:Header"))
    body = etree.SubElement(root, qname("s:Body"))
    body.append(payload)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def fault_envelope(fault: SoapFault) -> bytes:
    """The SOAP 1.2 Fault element: Code/Value, nested Subcode/Value, Reason/Text."""
    node = el(None, "s:Fault")
    code = el(node, "s:Code")
    el(code, "s:Value", f"s:{fault.code}")
    parent = code
    for subcode in fault.subcodes:
        sub = el(parent, "s:Subcode")
        el(sub, "s:Value", subcode)
        parent = sub
    reason = el(node, "s:Reason")
    text = el(reason, "s:Text", fault.reason)
    text.set(f"{{{XML}}}lang", "en")
    return envelope(node)
