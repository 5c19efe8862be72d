"""What the device says it can do, in the two shapes ONVIF has: GetCapabilities (tt:Capabilities, the old
category-keyed form older clients use) and per-service Capabilities (GetServices / GetServiceCapabilities).

Both are derived from Device.services(), so a camera never advertises Profile G and an NVR always does.
"""

from __future__ import annotations

from vtrack.simulator.onvif.device import Device
from vtrack.simulator.onvif.soap import SoapFault
from vtrack.simulator.onvif.xmlns import TDS, TRC, TRP, TRT, TSE, Element, el
from vtrack.simulator.streams import STREAMS

ONVIF_VERSION = (17, 12)
SERVICE_NAMESPACES: dict[str, str] = {
    "device": TDS,
    "media": TRT,
    "recording": TRC,
    "search": TSE,
    "replay": TRP,
}
_SERVICE_PREFIX = {"device": "tds", "media": "trt", "recording": "trc", "search": "tse", "replay": "trp"}
_UNSUPPORTED_CATEGORIES = frozenset({"Analytics", "Events", "Imaging", "PTZ"})


def _version(parent: Element, tag: str) -> None:
    version = el(parent, tag)
    el(version, "tt:Major", ONVIF_VERSION[0])
    el(version, "tt:Minor", ONVIF_VERSION[1])


def service_capabilities(device: Device, service: str, parent: Element | None = None) -> Element:
    """The <prefix:Capabilities> element of one service (attributes only, as the WSDLs define them)."""
    prefix = _SERVICE_PREFIX[service]
    caps = el(parent, f"{prefix}:Capabilities")
    if service == "device":
        el(
            caps,
            "tds:Network",
            IPFilter="false",
            ZeroConfiguration="false",
            IPVersion6="false",
            DynDNS="false",
        )
        el(caps, "tds:Security", UsernameToken="true", HttpDigest="true", DefaultAccessPolicy="true")
        el(caps, "tds:System", DiscoveryResolve="false", DiscoveryBye="true", RemoteDiscovery="false")
    elif service == "media":
        caps.set("SnapshotUri", "true")
        caps.set("Rotation", "false")
        el(caps, "trt:ProfileCapabilities", MaximumNumberOfProfiles=str(len(STREAMS) * len(device.cameras)))
        el(caps, "trt:StreamingCapabilities", RTPMulticast="false", RTP_TCP="true", RTP_RTSP_TCP="true")
    elif service == "recording":
        caps.set("DynamicRecordings", "false")
        caps.set("DynamicTracks", "false")
        caps.set("MaxRecordings", str(len(device.cameras)))
        caps.set("MaxRecordingJobs", str(len(device.cameras)))
    elif service == "search":
        caps.set("MetadataSearch", "false")
        caps.set("GeneralStartEvents", "false")
    else:
        caps.set("ReversePlayback", "false")
        caps.set("SessionTimeoutRange", "0 60")
        caps.set("RTP_RTSP_TCP", "true")
    return caps


def get_services(device: Device, include_capability: bool) -> Element:
    response = el(None, "tds:GetServicesResponse")
    for name in device.services():
        service = el(response, "tds:Service")
        el(service, "tds:Namespace", SERVICE_NAMESPACES[name])
        el(service, "tds:XAddr", device.xaddr(name))
        if include_capability:
            service_capabilities(device, name, el(service, "tds:Capabilities"))
        _version(service, "tds:Version")
    return response


def get_capabilities(device: Device, categories: list[str]) -> Element:
    """tt:Capabilities for the asked categories ('All' when none); only unsupported ones is a fault."""
    wanted = set(categories) or {"All"}
    if wanted <= _UNSUPPORTED_CATEGORIES:
        raise SoapFault("Receiver", ("ter:ActionNotSupported", "ter:NoSuchService"), "Category not supported")
    every = "All" in wanted
    response = el(None, "tds:GetCapabilitiesResponse")
    caps = el(response, "tds:Capabilities")
    if every or "Device" in wanted:
        dev = el(caps, "tt:Device")
        el(dev, "tt:XAddr", device.xaddr("device"))
        network = el(dev, "tt:Network")
        for flag in ("IPFilter", "ZeroConfiguration", "IPVersion6", "DynDNS"):
            el(network, f"tt:{flag}", False)
        system = el(dev, "tt:System")
        for flag, value in (
            ("DiscoveryResolve", False),
            ("DiscoveryBye", True),
            ("RemoteDiscovery", False),
            ("SystemBackup", False),
            ("SystemLogging", False),
            ("FirmwareUpgrade", False),
        ):
            el(system, f"tt:{flag}", value)
        _version(system, "tt:SupportedVersions")
        io = el(dev, "tt:IO")
        el(io, "tt:InputConnectors", 0)
        el(io, "tt:RelayOutputs", 0)
        security = el(dev, "tt:Security")
        for flag in ("TLS1.1", "TLS1.2", "OnboardKeyGeneration", "AccessPolicyConfig", "X.509Token"):
            el(security, f"tt:{flag}", False)
        for flag in ("SAMLToken", "KerberosToken", "RELToken"):
            el(security, f"tt:{flag}", False)
    if every or "Media" in wanted:
        media = el(caps, "tt:Media")
        el(media, "tt:XAddr", device.xaddr("media"))
        streaming = el(media, "tt:StreamingCapabilities")
        el(streaming, "tt:RTPMulticast", False)
        el(streaming, "tt:RTP_TCP", True)
        el(streaming, "tt:RTP_RTSP_TCP", True)
    if every and device.nvr:
        extension = el(caps, "tt:Extension")
        recording = el(extension, "tt:Recording")
        el(recording, "tt:XAddr", device.xaddr("recording"))
        for flag, value in (
            ("ReceiverSource", False),
            ("MediaProfileSource", True),
            ("DynamicRecordings", False),
            ("DynamicTracks", False),
        ):
            el(recording, f"tt:{flag}", value)
        el(recording, "tt:MaxStringLength", 64)
        search = el(extension, "tt:Search")
        el(search, "tt:XAddr", device.xaddr("search"))
        el(search, "tt:MetadataSearch", False)
        replay = el(extension, "tt:Replay")
        el(replay, "tt:XAddr", device.xaddr("replay"))
    return response
