"""ONVIF, SOAP and WS-* namespace URIs the client matches on (by URI, never by prefix: cameras vary)."""

from __future__ import annotations

from lxml import etree

SOAP_ENV = "http://www.w3.org/2003/05/soap-envelope"
SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
TT = "http://www.onvif.org/ver10/schema"
TDS = "http://www.onvif.org/ver10/device/wsdl"
TRT = "http://www.onvif.org/ver10/media/wsdl"
TRC = "http://www.onvif.org/ver10/recording/wsdl"
TSE = "http://www.onvif.org/ver10/search/wsdl"
TRP = "http://www.onvif.org/ver10/replay/wsdl"
TPTZ = "http://www.onvif.org/ver20/ptz/wsdl"
TER = "http://www.onvif.org/ver10/error"
DN = "http://www.onvif.org/ver10/network/wsdl"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
_TOKEN_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"  # noqa: S105 (a URI)
PASSWORD_DIGEST = f"{_TOKEN_PROFILE}#PasswordDigest"
NONCE_BASE64 = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)

Element = etree._Element


def q(namespace: str, local: str) -> str:
    """Clark notation, what lxml matches on."""
    return f"{{{namespace}}}{local}"


def parser() -> etree.XMLParser:
    """Replies come from the network: never fetch DTDs or expand entities."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def text(node: Element | None, *path: tuple[str, str]) -> str | None:
    """The stripped text at a path of (namespace, local) steps below node; None when a step is missing."""
    for namespace, local in path:
        if node is None:
            return None
        node = node.find(q(namespace, local))
    if node is None or node.text is None:
        return None
    return node.text.strip()


def local_name(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""
