"""Parsing XML request bodies from untrusted clients, and the namespace-blind lookups device APIs need.

The simulator may listen where other programs can reach it, so a request body must not be able to expand
entities (billion laughs) or pull in external ones. Like defusedxml (not a dependency here), any DTD is
refused before expat acts on it. Clients disagree on namespaces (Hikvision's own tools send the ver20
namespace, the ISAPI spec shows ver10 or isapi.org, scripts often send none), so lookups match local names,
as the devices do.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET
from xml.parsers import expat


class XmlError(ValueError):
    """The body is not well-formed XML, or declares a DTD or entities (which no device API request needs)."""


def _refuse_dtd(*_: object) -> None:
    raise XmlError("DTDs and entity declarations are not accepted")


def _et_name(expat_name: str) -> str:
    # expat joins namespace and local name with the separator; ElementTree writes "{namespace}local".
    return "{" + expat_name if "}" in expat_name else expat_name


def parse_untrusted(body: bytes) -> ET.Element:
    """The root element of `body`, built by expat with every DTD refused before it is acted on."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd

    def start(name: str, attributes: dict[str, str]) -> None:
        builder.start(_et_name(name), {_et_name(key): value for key, value in attributes.items()})

    def end(name: str) -> None:
        builder.end(_et_name(name))

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(body, True)
    except expat.ExpatError as error:
        raise XmlError(str(error)) from error
    return builder.close()


def local_name(element: ET.Element) -> str:
    return element.tag.rpartition("}")[2]


def child(element: ET.Element, name: str) -> ET.Element | None:
    """The first direct child with local name `name`, whatever its namespace."""
    for candidate in element:
        if local_name(candidate) == name:
            return candidate
    return None


def children(element: ET.Element, name: str) -> list[ET.Element]:
    return [candidate for candidate in element if local_name(candidate) == name]


def text_of(element: ET.Element, *path: str) -> str | None:
    """The stripped text at a path of local names below `element`, or None when any step is missing."""
    current: ET.Element | None = element
    for name in path:
        if current is None:
            return None
        current = child(current, name)
    if current is None or current.text is None:
        return None
    return current.text.strip()
