"""Dahua HTTP API (CGI) client: identity, channels with their stream URLs, snapshots (recordings: Step 4).

Also what Amcrest, Lorex, Intelbras and other Dahua OEMs serve. Answers are `key=value` lines; config
tables come back as `table.Name[i]...=value` with channels counted from 0. The channel count is the local
video inputs (devVideoInput getCollect: 1 on a camera) plus the remote inputs an NVR can take
(getProductDefinition MaxRemoteInputChannels), as Dahua's own SDK adds them; on an NVR that is its capacity,
not how many cameras are connected. Firmware that lacks a call answers HTTP 400 "Error / Bad Request!", so
every optional call falls back instead of failing the whole identification.
"""

from __future__ import annotations

import logging

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

_RECORDER_CLASSES = ("NVR", "DVR", "XVR", "HCVR", "NVS", "EVS", "IVSS")
MAX_CHANNELS = 256


def parse_key_values(body: str) -> dict[str, str]:
    """`key=value` lines (CRLF or LF) as a dict; lines without "=" (e.g. "OK") are skipped."""
    values: dict[str, str] = {}
    for line in body.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    return values


class DahuaClient(VendorClient):
    """The CGI API of one Dahua camera or NVR at `base_url` (http://host:port), over the caller's client."""

    vendor = "dahua"

    async def _values(self, path: str, **params: str) -> dict[str, str]:
        response = await self.api.get_ok(path, params)
        return parse_key_values(response.text)

    async def _optional(self, path: str, **params: str) -> dict[str, str]:
        """Like _values, but a call the firmware lacks (HTTP 400/404) gives {}; auth and transport raise."""
        try:
            return await self._values(path, **params)
        except VendorError as error:
            if error.kind in {"auth", "unreachable", "timeout"}:
                raise
            log.debug("%s: %s %s not available: %s", self.api.where, path, params, error.message)
            return {}

    async def _magic_box(self, action: str, key: str) -> str:
        values = await self._optional("/cgi-bin/magicBox.cgi", action=action)
        return values.get(key, "")

    async def device_info(self) -> VendorDeviceInfo:
        model = await self._magic_box("getDeviceType", "type")
        if not model:
            # The one call every Dahua firmware answers; without it this is not a Dahua API.
            raise VendorError(f"the {self.api.where} does not answer magicBox getDeviceType", "protocol")
        device_class = await self._magic_box("getDeviceClass", "class")
        if device_class:
            recorder = device_class.upper().startswith(_RECORDER_CLASSES)
        else:
            recorder = await self._remote_inputs() > 0
        return VendorDeviceInfo(
            vendor="dahua",
            manufacturer=await self._magic_box("getVendor", "vendor") or "Dahua",
            model=model,
            serial=await self._magic_box("getSerialNo", "sn"),
            firmware=await self._magic_box("getSoftwareVersion", "version"),
            device_type="NVR" if recorder else "IPCamera",
            name=await self._magic_box("getMachineName", "name"),
        )

    async def _remote_inputs(self) -> int:
        values = await self._optional(
            "/cgi-bin/magicBox.cgi", action="getProductDefinition", name="MaxRemoteInputChannels"
        )
        return optional_int(values.get("table.MaxRemoteInputChannels")) or 0

    async def channel_count(self) -> int:
        local = (
            optional_int(
                (await self._optional("/cgi-bin/devVideoInput.cgi", action="getCollect")).get("result")
            )
            or 0
        )
        return min(MAX_CHANNELS, local + await self._remote_inputs())

    async def _config(self, name: str) -> dict[str, str]:
        return await self._optional("/cgi-bin/configManager.cgi", action="getConfig", name=name)

    async def rtsp_port(self) -> int:
        """The RTSP port: the caller's, else the device's RTSP config, else 554."""
        if self._rtsp_port is None:
            port = optional_int((await self._config("RTSP")).get("table.RTSP.Port"))
            self._rtsp_port = port or DEFAULT_RTSP_PORT
        return self._rtsp_port

    async def channels(self) -> list[VendorChannel]:
        titles = await self._config("ChannelTitle")
        count = await self.channel_count()
        if count == 0:  # firmware without either count: trust the titles it lists
            count = sum(1 for key in titles if key.endswith("].Name"))
        encode = await self._config("Encode")
        port = await self.rtsp_port()
        rtsp_base = f"rtsp://{url_host(self.api.host)}:{port}/cam/realmonitor"
        found = []
        for index in range(count):
            channel = index + 1
            main = f"table.Encode[{index}].MainFormat[0]"
            width, height = encode.get(f"{main}.Video.Width"), encode.get(f"{main}.Video.Height")
            sub_enabled = encode.get(f"table.Encode[{index}].ExtraFormat[0].VideoEnable", "true") != "false"
            fps = optional_int(encode.get(f"{main}.Video.FPS"))
            found.append(
                VendorChannel(
                    channel=channel,
                    name=titles.get(f"table.ChannelTitle[{index}].Name") or f"Channel {channel}",
                    main_stream_url=f"{rtsp_base}?channel={channel}&subtype=0",
                    sub_stream_url=f"{rtsp_base}?channel={channel}&subtype=1" if sub_enabled else None,
                    snapshot_url=self.api.url(f"/cgi-bin/snapshot.cgi?channel={channel}"),
                    codec=normalise_codec(encode.get(f"{main}.Video.Compression")),
                    resolution=f"{width}x{height}" if width and height else None,
                    fps=fps if fps and fps > 0 else None,
                )
            )
        return found

    async def snapshot(self, channel: int) -> bytes:
        """A JPEG of the channel's main stream."""
        return await self.api.jpeg("/cgi-bin/snapshot.cgi", {"channel": str(channel)})
