"""Things that happened, told to whoever listens: an in-process bus now, Redis and SSE adapters later."""

from vtrack.events.bus import Event, EventBus, Subscription

__all__ = ["Event", "EventBus", "Subscription"]
