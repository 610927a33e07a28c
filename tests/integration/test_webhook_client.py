"""The notifier's HTTP/1.1 webhook client against a real TCP server that answers as told:
kept-alive connections, the ways an answer can end, and the ways a call can fail."""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl

import pytest

from services.notifier.channels.webhook.client import WebhookClient
from services.notifier.channels.webhook.connection import CallFailed

ANSWERS = {
    "/ok": b"HTTP/1.1 204 No Content\r\n\r\n",
    "/chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    "/long": b"HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n" + b"x" * 200000,
    "/close": b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbusy",
    "/until-eof": b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nno length, ends with the connection",
    "/interim": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
    "/garbage": b"SPEAKS NO HTTP\r\n\r\n",
    "/silent": b"",
    "/then-closes": b"HTTP/1.1 204 No Content\r\n\r\n",  # and closes, as a keep-alive timeout would
}
CLOSES_AFTER = {"/close", "/until-eof", "/garbage", "/silent", "/then-closes"}


class Receiver:
    """Reads each request (head and Content-Length body), records it, answers per its path."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[tuple[int, bytes, bytes]] = []  # (connection number, head, body)
        self.server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        return self.server.sockets[0].getsockname()[1]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
                )
                body = await reader.readexactly(length)
                self.requests.append((number, head, body))
                path = head.split(b" ")[1].decode()
                writer.write(ANSWERS[path.split("?")[0]])
                await writer.drain()
                if path in CLOSES_AFTER:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def receiver():
    r = Receiver()
    r.server = await asyncio.start_server(r.handle, "127.0.0.1", 0)
    yield r
    r.server.close()


@pytest.fixture
async def client():
    async with WebhookClient(user_agent="test-agent/1", max_idle_per_origin=4) as c:
        yield c


def header(head: bytes, name: str) -> str | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name.lower().encode():
            return value.strip().decode()
    return None


async def test_one_connection_carries_many_calls_and_each_request_is_whole(receiver, client):
    for n in range(5):
        status = await client.post(receiver.url("/ok?n=%d" % n), b'{"n": %d}' % n, {"X-Escalier-Event-Id": f"e{n}"})
        assert status == 204
    assert receiver.connections == 1
    assert [body for _, _, body in receiver.requests] == [b'{"n": %d}' % n for n in range(5)]
    _, head, _ = receiver.requests[3]
    assert head.startswith(b"POST /ok?n=3 HTTP/1.1\r\n")
    assert header(head, "host") == f"127.0.0.1:{receiver.port}"
    assert header(head, "user-agent") == "test-agent/1"
    assert header(head, "x-escalier-event-id") == "e3"


async def test_a_chunked_answer_is_read_to_its_end_and_the_connection_kept(receiver, client):
    assert await client.post(receiver.url("/chunked"), b"{}", {}) == 200
    assert await client.post(receiver.url("/ok"), b"{}", {}) == 204
    assert receiver.connections == 1


async def test_a_long_answer_is_not_read_and_its_connection_is_dropped(receiver, client):
    assert await client.post(receiver.url("/long"), b"{}", {}, read_at_most=1024) == 200
    assert await client.post(receiver.url("/ok"), b"{}", {}) == 204
    assert receiver.connections == 2


@pytest.mark.parametrize("path, status", [("/close", 503), ("/until-eof", 200), ("/interim", 201)])
async def test_answers_that_end_in_other_ways(receiver, client, path, status):
    assert await client.post(receiver.url(path), b"{}", {}) == status
    assert await client.post(receiver.url("/ok"), b"{}", {}) == 204


async def test_a_connection_the_receiver_closed_while_idle_is_replaced(receiver, client):
    for _ in range(3):
        assert await client.post(receiver.url("/then-closes"), b"{}", {}) == 204
    assert receiver.connections == 3
    assert len(receiver.requests) == 3  # nothing was sent twice


@pytest.mark.parametrize("path, reason", [("/garbage", "malformed answer"), ("/silent", "without answering")])
async def test_no_proper_answer_is_a_failure(receiver, client, path, reason):
    with pytest.raises(CallFailed, match=reason):
        await client.post(receiver.url(path), b"{}", {})


async def test_a_refused_connection_is_a_failure():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: refused
        async with WebhookClient(user_agent="t", max_idle_per_origin=1) as c:
            with pytest.raises(CallFailed, match="could not connect"):
                await c.post(f"http://127.0.0.1:{port}/", b"{}", {})


async def test_the_call_goes_to_the_checked_address_not_to_a_new_dns_answer(receiver, client):
    url = receiver.url("/ok", host="receiver.invalid")  # resolves nowhere
    assert await client.post(url, b"{}", {}, addresses=["127.0.0.1"]) == 204
    _, head, _ = receiver.requests[0]
    assert header(head, "host") == f"receiver.invalid:{receiver.port}"


async def test_an_address_that_does_not_answer_is_passed_over_for_the_next():
    # 127.0.0.2: a listener whose accept queue is full, so a new connection neither completes nor is
    # refused (the SYN is dropped). Tried one after another, the call would wait out its timeout.
    async def ok(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(ANSWERS["/ok"])
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(ok, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with socket.socket() as silent, socket.socket() as queued:
        silent.bind(("127.0.0.2", port))
        silent.listen(0)
        queued.connect(("127.0.0.2", port))  # fills the accept queue, never accepted
        async with WebhookClient(user_agent="t", max_idle_per_origin=1) as c:
            async with asyncio.timeout(2):  # a webhook call's own timeout is 5 s
                status = await c.post(f"http://hooks.invalid:{port}/ok", b"{}", {}, addresses=["127.0.0.2", "127.0.0.1"])
    server.close()
    assert status == 204


async def test_credentials_in_the_url_are_sent_as_basic_auth(receiver, client):
    url = f"http://hook%40acme:s%3Acret@127.0.0.1:{receiver.port}/ok"
    assert await client.post(url, b"{}", {}) == 204
    _, head, _ = receiver.requests[0]
    assert header(head, "authorization") == "Basic " + base64.b64encode(b"hook@acme:s:cret").decode()
    assert b"s%3Acret" not in head.split(b"\r\n")[0]


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/a b", "http://127.0.0.1:9/\r\nX-Injected: 1", "ftp://127.0.0.1/"])
async def test_a_url_that_cannot_be_sent_as_is_is_refused_before_connecting(client, url):
    with pytest.raises(CallFailed):
        await client.post(url, b"{}", {})


def _self_signed(tmp_path) -> tuple[str, str]:
    """A certificate for `localhost` and its key, as PEM files (made with `cryptography`)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1)).not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


async def test_https_is_verified_against_the_urls_host_even_when_connecting_to_a_checked_address(tmp_path):
    cert, key = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    r = Receiver()
    r.server = await asyncio.start_server(r.handle, "127.0.0.1", 0, ssl=server_tls)
    try:
        trusting = ssl.create_default_context(cafile=cert)
        async with WebhookClient(user_agent="t", max_idle_per_origin=2, ssl_context=trusting) as c:
            url = f"https://localhost:{r.port}/ok"
            assert await c.post(url, b"{}", {}, addresses=["127.0.0.1"]) == 204
            assert await c.post(url, b"{}", {}, addresses=["127.0.0.1"]) == 204
            assert r.connections == 1  # kept alive over TLS too
        async with WebhookClient(user_agent="t", max_idle_per_origin=2) as c:  # the system's CAs only
            with pytest.raises(CallFailed, match="could not connect"):
                await c.post(f"https://localhost:{r.port}/ok", b"{}", {}, addresses=["127.0.0.1"])
        async with WebhookClient(user_agent="t", max_idle_per_origin=2, ssl_context=trusting) as c:
            with pytest.raises(CallFailed, match="could not connect"):  # the certificate names localhost only
                await c.post(f"https://127.0.0.1:{r.port}/ok", b"{}", {})
    finally:
        r.server.close()
