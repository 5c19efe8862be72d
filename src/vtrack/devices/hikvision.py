"""Hikvision ISAPI client: identity, channels with their stream URLs, snapshots (recordings come in Step 4).

ISAPI documents are XML in a namespace that differs by firmware (hikvision.com ver10/ver20, isapi.org), so
elements are matched by local name. Streams are numbered channel * 100 + 1 (main) and + 2 (sub), the same
number in the RTSP path (`/Streaming/Channels/101`) and the picture URL. Cameras and NVRs both list their
streams at /ISAPI/Streaming/channels; the RTSP port, often moved off 554 on NVRs behind port forwarding,
is read from /ISAPI/Security/adminAccesses when the caller does not know it.
"""

from __future__ import annotations

import logging

from lxml import etree

from vtrack.devices.http import (
    DEFAULT_RTSP_PORT,
    VendorChannel,
    VendorClient,
    VendorDeviceInfo,
    VendorError,
    normalise_codec,
    optional_int,
    url_host,
)

log = logging.getLogger(__name__)

Element = etree._Element
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse_xml(data: bytes, where: str) -> Element:
    """An ISAPI document; entities are never expanded and nothing is fetched (the bytes come off the LAN)."""
    try:
        root = etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as error:
        raise VendorError(f"the {where} sent XML that cannot be read ({error})", "protocol") from error
    if root is None:
        raise VendorError(f"the {where} sent an empty document", "protocol")
    return root


def _local(element: Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child) == name]


def text(element: Element, *path: str) -> str | None:
    """Stripped text at a path of local names, or None when a step is missing or empty."""
    current: Element | None = element
    for name in path:
        found = children(current, name) if current is not None else []
        current = found[0] if found else None
    if current is None or current.text is None or not current.text.strip():
        return None
    return current.text.strip()


class HikvisionClient(VendorClient):
    """ISAPI of one camera or NVR at `base_url` (http://host:port), over the caller's AsyncClient."""

    vendor = "hikvision"

    async def _document(self, path: str) -> Element:
        response = await self.api.get_ok(path)
        return parse_xml(response.content, self.api.where)

    async def device_info(self) -> VendorDeviceInfo:
        root = await self._document("/ISAPI/System/deviceInfo")
        firmware = " ".join(
            part for part in (text(root, "firmwareVersion"), text(root, "firmwareReleasedDate")) if part
        )
        device_type = text(root, "deviceType") or "IPCamera"
        return VendorDeviceInfo(
            vendor="hikvision",
            manufacturer="Hikvision",
            model=text(root, "model") or "",
            serial=text(root, "serialNumber") or "",
            firmware=firmware,
            device_type="NVR" if device_type.upper() in {"NVR", "DVR", "HVR", "XVR"} else device_type,
            name=text(root, "deviceName") or "",
        )

    async def rtsp_port(self) -> int:
        """The RTSP port: the caller's, else the device's own word for it, else 554."""
        if self._rtsp_port is None:
            self._rtsp_port = await self._advertised_rtsp_port() or DEFAULT_RTSP_PORT
        return self._rtsp_port

    async def _advertised_rtsp_port(self) -> int | None:
        try:
            root = await self._document("/ISAPI/Security/adminAccesses")
        except VendorError as error:
            if error.kind == "auth":
                raise
            log.info("%s: no RTSP port in adminAccesses (%s); assuming 554", self.api.where, error.message)
            return None
        for entry in children(root, "AdminAccessProtocol"):
            if (text(entry, "protocol") or "").upper() == "RTSP" and text(entry, "enabled") != "false":
                return optional_int(text(entry, "portNo"))
        return None

    async def channels(self) -> list[VendorChannel]:
        """Every channel with a main stream, in channel order; the sub stream when the device has one."""
        root = await self._document("/ISAPI/Streaming/channels")
        streams: dict[int, dict[int, Element]] = {}
        for entry in children(root, "StreamingChannel"):
            stream_id = optional_int(text(entry, "id"))
            if stream_id is None or stream_id < 100:
                continue
            streams.setdefault(stream_id // 100, {})[stream_id % 100] = entry
        port = await self.rtsp_port()
        rtsp_base = f"rtsp://{url_host(self.api.host)}:{port}/Streaming/Channels"
        found = []
        for channel, by_stream in sorted(streams.items()):
            main = by_stream.get(1)
            if main is None:
                continue
            width, height = (
                text(main, "Video", "videoResolutionWidth"),
                text(main, "Video", "videoResolutionHeight"),
            )
            frame_rate = optional_int(text(main, "Video", "maxFrameRate"))  # hundredths of a frame per second
            found.append(
                VendorChannel(
                    channel=channel,
                    name=text(main, "channelName") or f"Channel {channel}",
                    main_stream_url=f"{rtsp_base}/{channel}01",
                    sub_stream_url=f"{rtsp_base}/{channel}02" if 2 in by_stream else None,
                    snapshot_url=self.api.url(self._picture_path(channel)),
                    codec=normalise_codec(text(main, "Video", "videoCodecType")),
                    resolution=f"{width}x{height}" if width and height else None,
                    fps=max(1, round(frame_rate / 100)) if frame_rate and frame_rate > 0 else None,
                )
            )
        return found

    @staticmethod
    def _picture_path(channel: int, stream: int = 1) -> str:
        return f"/ISAPI/Streaming/channels/{channel * 100 + stream}/picture"

    async def snapshot(self, channel: int) -> bytes:
        """A JPEG of the channel's main stream, as the device encodes it now."""
        return await self.api.jpeg(self._picture_path(channel))
