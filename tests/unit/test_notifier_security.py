"""Webhook signatures and the guard against calls into our own network, without I/O."""

import hashlib
import hmac
import ipaddress

import pytest

from services.notifier.channels.webhook.signing import sign, signature_headers, verify
from services.notifier.channels.webhook.targets import TargetPolicy, TargetRefused, check_address, split_target

BODY = b'{"id":"ev-1","type":"ticket.resolved"}'
NOW = 1_750_000_000


def test_the_signature_is_an_hmac_sha256_of_timestamp_dot_body():
    expected = hmac.new(b"s3cret", f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign("s3cret", NOW, BODY) == f"sha256={expected}"
    assert signature_headers("s3cret", NOW, BODY) == {
        "X-Escalier-Timestamp": str(NOW),
        "X-Escalier-Signature": f"sha256={expected}",
    }


def test_a_receiver_accepts_only_the_right_secret_the_exact_body_and_a_fresh_timestamp():
    signature = sign("s3cret", NOW, BODY)
    assert verify("s3cret", timestamp=str(NOW), signature=signature, body=BODY, now=NOW + 10)
    assert not verify("other", timestamp=str(NOW), signature=signature, body=BODY, now=NOW)
    assert not verify("s3cret", timestamp=str(NOW), signature=signature, body=BODY + b" ", now=NOW)
    assert not verify("s3cret", timestamp=str(NOW + 1), signature=signature, body=BODY, now=NOW)
    assert not verify("s3cret", timestamp=str(NOW), signature=signature, body=BODY, now=NOW + 301)
    assert not verify("s3cret", timestamp="yesterday", signature=signature, body=BODY, now=NOW)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.0.0.5", "private"),
        ("172.16.3.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fd00::1", "private"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "non-public"),
        ("224.0.0.1", "multicast"),
    ],
)
def test_non_public_addresses_are_refused_by_default(address, kind):
    with pytest.raises(TargetRefused, match=kind):
        check_address(ipaddress.ip_address(address), TargetPolicy())


def test_public_addresses_are_allowed():
    for address in ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"):
        check_address(ipaddress.ip_address(address), TargetPolicy())


def test_configuration_allows_chosen_networks_or_every_private_address():
    loopback = TargetPolicy.from_settings(False, ["127.0.0.0/8"])
    check_address(ipaddress.ip_address("127.0.0.1"), loopback)
    check_address(ipaddress.ip_address("::ffff:127.0.0.2"), loopback)
    with pytest.raises(TargetRefused):
        check_address(ipaddress.ip_address("10.0.0.1"), loopback)
    check_address(ipaddress.ip_address("10.0.0.1"), TargetPolicy(allow_private=True))


def test_only_http_and_https_urls_with_a_host_are_targets():
    assert split_target("https://hooks.example.com/x") == ("hooks.example.com", 443)
    assert split_target("http://hooks.example.com:8080/x") == ("hooks.example.com", 8080)
    for url in ("ftp://example.com/x", "file:///etc/passwd", "http:///nohost", "gopher://x"):
        with pytest.raises(TargetRefused):
            split_target(url)
