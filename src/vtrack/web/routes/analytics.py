"""Analytics pages: a card per live channel (preview, health, today's counts), a chart over time, and the
line/zone editor drawn on the channel's frame. Pages read; every write goes through /api/v1 from the
browser, so the editor's lines are validated by the same specs as the API's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.api.deps import ServicesDep, SessionDep, has_permission
from vtrack.db.models import AnalyticsChannel
from vtrack.db.repositories.analytics import ChannelRepository
from vtrack.db.repositories.cameras import CameraRepository
from vtrack.db.repositories.snapshots import SnapshotRepository
from vtrack.registry.snapshots import snapshot_service
from vtrack.security.permissions import Permission
from vtrack.services import Services
from vtrack.web.analytics_views import (
    CHART_RANGES,
    ChannelFigures,
    ChartRange,
    chart_buckets,
    health_view,
    line_rows,
    spec_points,
    today_figures,
)
from vtrack.web.charts import ChartText, bar_chart
from vtrack.web.i18n import Translator, pick_language
from vtrack.web.session import AnalyticsReader, TemplatesDep
from vtrack.web.templating import Templates

router = APIRouter(include_in_schema=False)

MAX_CHANNELS = 200  # cards on one page; a site with more filters through the API
API = "/api/v1/analytics/channels"


def _range(value: str | None) -> ChartRange:
    return "week" if value == "week" else "today"


async def _chart(
    request: Request,
    session: AsyncSession,
    templates: Templates,
    channels: Sequence[AnalyticsChannel],
    chart: str | None,
    channel: str | None,
) -> dict[str, Any]:
    """The chart box's context: the range, the channel (only one that exists), and the drawn SVG."""
    chosen = _range(chart)
    selected = channel if channel and any(c.id == channel for c in channels) else None
    t = Translator(pick_language(request))
    buckets = await chart_buckets(session, chosen, templates.now(), templates.zone, selected)
    text = ChartText(
        title=t(f"analytics.chart.title.{chosen}"),
        entered=t("analytics.in"),
        exited=t("analytics.out"),
        empty=t("analytics.chart.empty"),
    )
    return {
        "channels": channels,
        "chart": chosen,
        "chart_ranges": CHART_RANGES,
        "chart_channel": selected,
        "chart_svg": bar_chart(buckets, text),
    }


def _card(
    cluster: dict[str, dict[str, Any]], channel: AnalyticsChannel, figures: ChannelFigures | None
) -> dict[str, Any]:
    """`cluster` is every live channel's health, wherever it runs (ChannelManager.cluster_health)."""
    return {
        "channel": channel,
        "health": health_view(cluster.get(channel.id), channel.enabled),
        "figures": figures,
        "line_rows": line_rows(channel.lines, figures),
        "api": f"{API}/{channel.id}",
    }


@router.get("/analytics", response_class=HTMLResponse)
async def analytics_page(
    request: Request,
    user: AnalyticsReader,
    services: ServicesDep,
    session: SessionDep,
    templates: TemplatesDep,
    chart: Annotated[str | None, Query(max_length=8)] = None,
    channel: Annotated[str | None, Query(max_length=36)] = None,
) -> HTMLResponse:
    channels = (await ChannelRepository(session).search(1, MAX_CHANNELS)).items
    figures = await today_figures(session, templates.now(), templates.zone)
    cluster = await services.analytics.cluster_health()
    cards = [_card(cluster, c, figures.get(c.id)) for c in channels]
    cameras = []
    if has_permission(user, Permission.ANALYTICS_WRITE) and has_permission(user, Permission.CAMERAS_READ):
        cameras = list(await CameraRepository(session).all())
    return templates.render(
        request,
        "analytics/index.html",
        {
            "cards": cards,
            "cameras": cameras,
            **await _chart(request, session, templates, channels, chart, channel),
        },
        user=user,
    )


@router.get("/analytics/chart", response_class=HTMLResponse)
async def chart_fragment(
    request: Request,
    user: AnalyticsReader,
    session: SessionDep,
    templates: TemplatesDep,
    chart: Annotated[str | None, Query(max_length=8)] = None,
    channel: Annotated[str | None, Query(max_length=36)] = None,
) -> HTMLResponse:
    """The chart box alone: the range switch and the live refresh swap it in place."""
    channels = (await ChannelRepository(session).search(1, MAX_CHANNELS)).items
    context = await _chart(request, session, templates, channels, chart, channel)
    return templates.render(request, "analytics/_chart.html", context, user=user)


@router.get("/analytics/channels/{channel_id}/live", response_class=HTMLResponse)
async def live_fragment(
    channel_id: str,
    request: Request,
    user: AnalyticsReader,
    services: ServicesDep,
    session: SessionDep,
    templates: TemplatesDep,
) -> HTMLResponse:
    """A card's health and today's counts, swapped in on every counts event (at most once a second)."""
    channel = await ChannelRepository(session).get(channel_id)
    if channel is None:
        return templates.render(request, "error.html", {"status": 404}, user=user, status_code=404)
    figures = (await today_figures(session, templates.now(), templates.zone, channel.id)).get(channel.id)
    return templates.render(
        request,
        "analytics/_live.html",
        _card(await services.analytics.cluster_health(), channel, figures),
        user=user,
    )


async def _picture(services: Services, session: AsyncSession, channel: AnalyticsChannel) -> str | None:
    """What the editor draws on: the newest analysed frame while the channel runs, else its camera's latest
    snapshot (a signed link, as the API hands out), else nothing."""
    if services.analytics.worker(channel.id) is not None:
        return f"{API}/{channel.id}/frame.jpg"
    if channel.camera_id is None:
        return None
    recent = await SnapshotRepository(session).recent(channel.camera_id, 1)
    return snapshot_service(services, session).link(recent[0]) if recent else None


@router.get("/analytics/{channel_id}", response_class=HTMLResponse)
async def editor_page(
    channel_id: str,
    request: Request,
    user: AnalyticsReader,
    services: ServicesDep,
    session: SessionDep,
    templates: TemplatesDep,
) -> HTMLResponse:
    channel = await ChannelRepository(session).get(channel_id)
    if channel is None:
        return templates.render(request, "error.html", {"status": 404}, user=user, status_code=404)
    lines, zones = spec_points(channel.lines), spec_points(channel.zones)
    return templates.render(
        request,
        "analytics/editor.html",
        {
            "channel": channel,
            "health": health_view(
                (await services.analytics.cluster_health()).get(channel.id), channel.enabled
            ),
            "picture": await _picture(services, session, channel),
            "lines": lines,
            "zones": zones,
            "editor": {
                "channelId": channel.id,
                "api": f"{API}/{channel.id}",
                "lines": [{k: v for k, v in s.items() if k != "fractions"} for s in lines],
                "zones": [{k: v for k, v in s.items() if k != "fractions"} for s in zones],
                "canWrite": has_permission(user, Permission.ANALYTICS_WRITE),
            },
        },
        user=user,
    )
