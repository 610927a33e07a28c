"""One webhook call: target checked, body signed, posted, outcome told."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import orjson

from services.notifier.channels.webhook.client import WebhookClient
from services.notifier.channels.webhook.connection import CallFailed
from services.notifier.channels.webhook.domain import is_success, webhook_headers
from services.notifier.channels.webhook.signing import signature_headers
from services.notifier.channels.webhook.targets import TargetPolicy, TargetRefused, TargetUnresolvable, check_target
from services.notifier.domain import PendingDelivery, SendFailure
from services.notifier.settings import NotifierSettings

USER_AGENT = "Escalier-Notifier/0.1"
# A receiver's answer is read up to this much, so its connection can be kept alive and used
# again; a longer one is dropped with its connection (the body never matters).
_READ_AT_MOST = 64 * 1024

# A subscription's signing secret, by `subscription_id=`; None once it is deleted.
SecretOf = Callable[..., Awaitable[str | None]]


class WebhookSender:
    """Posts deliveries with one shared HTTP client (made by the dispatcher's loop).

    `subscription_secret` reads the subscriptions' table (given by create_app), so this channel
    needs nothing of the subscriptions feature but that.
    """

    def __init__(
        self,
        settings: NotifierSettings,
        *,
        policy: TargetPolicy,
        subscription_secret: SecretOf,
    ) -> None:
        self._settings = settings
        self._policy = policy
        self._subscription_secret = subscription_secret
        self._callback_secret = settings.callback_secret.get_secret_value()

    def client(self) -> WebhookClient:
        """The HTTP client: a kept-alive connection per lane in flight at most."""
        return WebhookClient(
            user_agent=USER_AGENT, max_idle_per_origin=self._settings.webhook_max_in_flight_per_endpoint
        )

    async def send(self, client: WebhookClient, delivery: PendingDelivery) -> SendFailure | None:
        """POST the delivery's body, signed; None on a 2xx, else why not."""
        secret = await self._secret_of(delivery)
        if secret is None:
            return SendFailure("its subscription was deleted", permanent=True)
        try:
            # Checked at each call: the host may resolve elsewhere than when it was accepted. The
            # call connects to the addresses checked here, so a DNS answer changing meanwhile
            # cannot steer it inside.
            addresses = await check_target(delivery.url, self._policy)
        except TargetRefused as exc:
            return SendFailure(f"target refused: {exc}", permanent=True)
        except TargetUnresolvable as exc:
            return SendFailure(str(exc))
        content = orjson.dumps(delivery.body)
        headers = {
            **webhook_headers(delivery.body),
            **signature_headers(secret, int(time.time()), content),
            "X-Escalier-Delivery": str(delivery.id),
            "X-Escalier-Attempt": str(delivery.attempts + 1),
        }
        return await self._post(client, delivery.url, content, headers, addresses)

    async def _secret_of(self, delivery: PendingDelivery) -> str | None:
        # Callback URLs share the notifier's secret; a subscription has its own (None once deleted).
        if delivery.subscription_id is None:
            return self._callback_secret
        return await self._subscription_secret(subscription_id=delivery.subscription_id)

    async def _post(
        self, client: WebhookClient, url: str, content: bytes, headers: dict, addresses: list
    ) -> SendFailure | None:
        timeout_s = self._settings.webhook_timeout_s
        try:
            # One bound for the whole call (connect, send, answer): a slow-drip receiver included.
            async with asyncio.timeout(timeout_s):
                # A short answer is read to its end, so the connection is kept (a new one per call
                # cost a third of the notifier's time); a long one is not read, and closed.
                status = await client.post(url, content, headers, addresses=addresses, read_at_most=_READ_AT_MOST)
        except TimeoutError:
            return SendFailure(f"timed out after {timeout_s:g} s")
        except CallFailed as exc:
            return SendFailure(str(exc))
        return None if is_success(status) else SendFailure(f"HTTP {status}")
