"""What notifier publishes on the bus: nothing (it tells people, by webhook, e-mail and stream)."""

from shared.messaging.wiring import Publications

PUBLICATIONS: Publications = {}
