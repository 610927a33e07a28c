"""One webhook call: target checked, body signed, posted, outcome told."""

from __future__ import annotations

import asyncio
import time

import httpx
import orjson

from shared.db import Database

from services.notifier import domain, subscriptions
from services.notifier.domain import SendFailure
from services.notifier.models import Delivery
from services.notifier.settings import NotifierSettings
from services.notifier.signing import signature_headers
from services.notifier.targets import TargetPolicy, TargetRefused, TargetUnresolvable, check_target

USER_AGENT = "Escalier-Notifier/0.1"
# A receiver's answer is read up to this much, so its connection can be kept alive and used
# again; a longer one is dropped with its connection (the body never matters).
_READ_AT_MOST = 64 * 1024

class WebhookSender:
    """Posts deliveries with one shared HTTP client (opened by the dispatcher's loop)."""

    def __init__(
        self,
        settings: NotifierSettings,
        *,
        db: Database,
        policy: TargetPolicy,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._settings = settings
        self._db = db
        self._policy = policy
        self._callback_secret = settings.callback_secret.get_secret_value()
        self._transport = transport  # tests may pass an httpx.MockTransport

    def client(self) -> httpx.AsyncClient:
        """The HTTP client: as many connections as lanes in flight, redirects never followed."""
        n = self._settings.webhook_max_in_flight
        return httpx.AsyncClient(
            timeout=self._settings.webhook_timeout_s,
            limits=httpx.Limits(max_connections=n, max_keepalive_connections=n),
            headers={"user-agent": USER_AGENT},
            transport=self._transport,
            follow_redirects=False,  # a redirect could point inside our network
        )

    async def send(self, client: httpx.AsyncClient, delivery: Delivery) -> SendFailure | None:
        """POST the delivery's body, signed; None on a 2xx, else why not."""
        secret = await self._secret_of(delivery)
        if secret is None:
            return SendFailure("its subscription was deleted", permanent=True)
        try:
            # Checked at each call: the host may resolve elsewhere than when it was accepted. A DNS
            # answer changing between this check and httpx's own lookup is not covered: that would
            # need a transport that connects to the address checked here.
            await check_target(delivery.url, self._policy)
        except TargetRefused as exc:
            return SendFailure(f"target refused: {exc}", permanent=True)
        except TargetUnresolvable as exc:
            return SendFailure(str(exc))
        content = orjson.dumps(delivery.body)
        headers = {
            **domain.webhook_headers(delivery.body),
            **signature_headers(secret, int(time.time()), content),
            "X-Escalier-Delivery": str(delivery.id),
            "X-Escalier-Attempt": str(delivery.attempts + 1),
        }
        return await self._post(client, delivery.url, content, headers)

    async def _secret_of(self, delivery: Delivery) -> str | None:
        # Callback URLs share the notifier's secret; a subscription has its own (None once deleted).
        if delivery.subscription_id is None:
            return self._callback_secret
        return await subscriptions.secret_of(self._db, subscription_id=delivery.subscription_id)

    async def _post(self, client: httpx.AsyncClient, url: str, content: bytes, headers: dict) -> SendFailure | None:
        timeout_s = self._settings.webhook_timeout_s
        try:
            # httpx's timeout is per phase; this bounds the whole call against a slow-drip receiver.
            async with asyncio.timeout(timeout_s):
                # Streamed: a short answer is read to its end, which lets the pool keep the
                # connection (a new one per call cost a third of the notifier's time); a
                # long one is not read at all.
                async with client.stream("POST", url, content=content, headers=headers) as response:
                    status = response.status_code
                    read = 0
                    async for chunk in response.aiter_raw():
                        read += len(chunk)
                        if read > _READ_AT_MOST:
                            break
        except TimeoutError:
            return SendFailure(f"timed out after {timeout_s:g} s")
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return SendFailure(f"{type(exc).__name__}: {exc}")
        return None if domain.is_success(status) else SendFailure(f"HTTP {status}")
