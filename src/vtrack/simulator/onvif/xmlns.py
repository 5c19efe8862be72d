"""XML namespaces of ONVIF, SOAP 1.2 and WS-* and one element builder, so every module spells them alike.

Clients match elements by namespace URI, never by prefix, but real cameras use these conventional
prefixes and some clients' logs and tests expect them, so responses declare them on the envelope.
"""

from __future__ import annotations

from lxml import etree

SOAP_ENV = "http://www.w3.org/2003/05/soap-envelope"
TT = "http://www.onvif.org/ver10/schema"
TDS = "http://www.onvif.org/ver10/device/wsdl"
TRT = "http://www.onvif.org/ver10/media/wsdl"
TRC = "http://www.onvif.org/ver10/recording/wsdl"
TSE = "http://www.onvif.org/ver10/search/wsdl"
TRP = "http://www.onvif.org/ver10/replay/wsdl"
TER = "http://www.onvif.org/ver10/error"
DN = "http://www.onvif.org/ver10/network/wsdl"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
# WS-Discovery 2005/04 (the version ONVIF mandates) pairs with WS-Addressing 2004/08.
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
WSA_DISCOVERY = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
XML = "http://www.w3.org/XML/1998/namespace"

PREFIXES: dict[str, str] = {
    "s": SOAP_ENV,
    "tt": TT,
    "tds": TDS,
    "trt": TRT,
    "trc": TRC,
    "tse": TSE,
    "trp": TRP,
    "ter": TER,
    "dn": DN,
}

# Password Type URIs of the UsernameToken profile: names of encodings, not secrets.
_USERNAME_TOKEN_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"  # noqa: S105
WSSE_PASSWORD_DIGEST = f"{_USERNAME_TOKEN_PROFILE}#PasswordDigest"
WSSE_PASSWORD_TEXT = f"{_USERNAME_TOKEN_PROFILE}#PasswordText"

Element = etree._Element


def qname(prefixed: str) -> str:
    """'tt:Name' -> '{http://www.onvif.org/ver10/schema}Name' (Clark notation, what lxml matches on)."""
    prefix, _, local = prefixed.partition(":")
    return f"{{{PREFIXES[prefix]}}}{local}"


def el(
    parent: Element | None, tag: str, text: str | int | float | bool | None = None, **attrs: str
) -> Element:
    """Append (or create, without a parent) an element named by a prefixed tag; bools print as xs:boolean."""
    node = (
        etree.Element(qname(tag), nsmap=PREFIXES) if parent is None else etree.SubElement(parent, qname(tag))
    )
    for key, value in attrs.items():
        node.set(key, value)
    if text is not None:
        node.text = ("true" if text else "false") if isinstance(text, bool) else str(text)
    return node


def child_text(node: Element, *path: str) -> str | None:
    """Text of the first descendant reached by prefixed tags, e.g. child_text(body, 'trt:ProfileToken')."""
    current: Element | None = node
    for tag in path:
        if current is None:
            return None
        current = current.find(qname(tag))
    if current is None or current.text is None:
        return None
    return current.text.strip()


def safe_parser() -> etree.XMLParser:
    """A parser that never fetches DTDs or expands entities: requests come from the network."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=True)
