"""The ONVIF Device service (tds): identity, clock, capabilities, services, network interface, scopes.

GetSystemDateAndTime, GetCapabilities, GetServices, GetServiceCapabilities and GetHostname are in ONVIF
Core's PRE_AUTH class: clients call them before they can sign requests (the clock) or know where the other
services live, so they are answered without credentials.
"""

from __future__ import annotations

from vtrack.simulator.onvif import capabilities
from vtrack.simulator.onvif.device import Device
from vtrack.simulator.onvif.operations import Operation, Service
from vtrack.simulator.onvif.xmlns import TDS, Element, el

_FIXED_SCOPE_KINDS = ("/type/", "/Profile/", "/hardware/")


def get_device_information(device: Device, request: Element) -> Element:
    response = el(None, "tds:GetDeviceInformationResponse")
    el(response, "tds:Manufacturer", device.manufacturer)
    el(response, "tds:Model", device.model)
    el(response, "tds:FirmwareVersion", device.firmware)
    el(response, "tds:SerialNumber", device.serial)
    el(response, "tds:HardwareId", device.hardware_id)
    return response


def get_system_date_and_time(device: Device, request: Element) -> Element:
    """The device clock in UTC (skewed by the clock_skew fault); the device keeps UTC as its local time."""
    now = device.now()
    response = el(None, "tds:GetSystemDateAndTimeResponse")
    system = el(response, "tds:SystemDateAndTime")
    el(system, "tt:DateTimeType", "Manual")
    el(system, "tt:DaylightSavings", False)
    el(el(system, "tt:TimeZone"), "tt:TZ", "UTC0")
    for tag in ("tt:UTCDateTime", "tt:LocalDateTime"):
        stamp = el(system, tag)
        time_el = el(stamp, "tt:Time")
        el(time_el, "tt:Hour", now.hour)
        el(time_el, "tt:Minute", now.minute)
        el(time_el, "tt:Second", now.second)
        date_el = el(stamp, "tt:Date")
        el(date_el, "tt:Year", now.year)
        el(date_el, "tt:Month", now.month)
        el(date_el, "tt:Day", now.day)
    return response


def get_capabilities(device: Device, request: Element) -> Element:
    categories = [(node.text or "").strip() for node in request.iterfind(f"{{{TDS}}}Category")]
    return capabilities.get_capabilities(device, [c for c in categories if c])


def get_services(device: Device, request: Element) -> Element:
    include = (request.findtext(f"{{{TDS}}}IncludeCapability") or "").strip().lower() in ("true", "1")
    return capabilities.get_services(device, include)


def get_service_capabilities(device: Device, request: Element) -> Element:
    response = el(None, "tds:GetServiceCapabilitiesResponse")
    capabilities.service_capabilities(device, "device", response)
    return response


def get_hostname(device: Device, request: Element) -> Element:
    response = el(None, "tds:GetHostnameResponse")
    info = el(response, "tds:HostnameInformation")
    el(info, "tt:FromDHCP", False)
    el(info, "tt:Name", f"sim-{device.serial.lower()}")
    return response


def get_network_interfaces(device: Device, request: Element) -> Element:
    response = el(None, "tds:GetNetworkInterfacesResponse")
    interface = el(response, "tds:NetworkInterfaces", token="eth0")  # noqa: S106 (ONVIF token)
    el(interface, "tt:Enabled", True)
    info = el(interface, "tt:Info")
    el(info, "tt:Name", "eth0")
    el(info, "tt:HwAddress", device.mac)
    el(info, "tt:MTU", 1500)
    ipv4 = el(interface, "tt:IPv4")
    el(ipv4, "tt:Enabled", True)
    config = el(ipv4, "tt:Config")
    manual = el(config, "tt:Manual")
    el(manual, "tt:Address", device.advertised_host)
    el(manual, "tt:PrefixLength", device.prefix_length)
    el(config, "tt:DHCP", False)
    return response


def get_scopes(device: Device, request: Element) -> Element:
    response = el(None, "tds:GetScopesResponse")
    for item in device.scopes():
        scope = el(response, "tds:Scopes")
        fixed = any(kind in item for kind in _FIXED_SCOPE_KINDS)
        el(scope, "tt:ScopeDef", "Fixed" if fixed else "Configurable")
        el(scope, "tt:ScopeItem", item)
    return response


SERVICE = Service(
    name="device",
    namespace=TDS,
    operations={
        "GetDeviceInformation": Operation(get_device_information),
        "GetSystemDateAndTime": Operation(get_system_date_and_time, public=True),
        "GetCapabilities": Operation(get_capabilities, public=True),
        "GetServices": Operation(get_services, public=True),
        "GetServiceCapabilities": Operation(get_service_capabilities, public=True),
        "GetHostname": Operation(get_hostname, public=True),
        "GetNetworkInterfaces": Operation(get_network_interfaces),
        "GetScopes": Operation(get_scopes),
    },
)
