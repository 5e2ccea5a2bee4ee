"""PII redaction: each kind becomes its placeholder, look-alikes stay, nothing touches the network."""

from __future__ import annotations

import socket

import pytest

from featureship.privacy.pii import KINDS, PiiRedactor, redact, redact_texts

CASES = [
    ("write to jo.smith+bank@example.co.uk today", "write to <EMAIL> today", "EMAIL"),
    ("my address is ANNA_KIM77@MAIL.EXAMPLE.ORG", "my address is <EMAIL>", "EMAIL"),
    ("call me on +44 20 7946 0958", "call me on <PHONE>", "PHONE"),
    ("my number is (415) 555-2671", "my number is <PHONE>", "PHONE"),
    ("ring 07700 900123 please", "ring <PHONE> please", "PHONE"),
    ("phone +4930901820 after six", "phone <PHONE> after six", "PHONE"),
    ("card 4111 1111 1111 1111 was charged", "card <CARD> was charged", "CARD"),
    ("amex 3782-822463-10005", "amex <CARD>", "CARD"),
    ("paid with 5555555555554444.", "paid with <CARD>.", "CARD"),
    ("IBAN DE89 3704 0044 0532 0130 00 please", "IBAN <IBAN> please", "IBAN"),
    ("send to GB82WEST12345698765432", "send to <IBAN>", "IBAN"),
    ("logged in from 203.0.113.42 yesterday", "logged in from <IP> yesterday", "IP"),
    ("ip 2001:db8:85a3::8a2e:370:7334 too", "ip <IP> too", "IP"),
    ("see https://bob:s3cr3t!@files.example.com/export?id=7 now", "see <URL> now", "URL"),
    ("postgres://admin:hunter22@10.0.3.7:5432/bank", "<URL>", "URL"),
    ("my SSN is 536-22-8741", "my SSN is <NATIONAL_ID>", "NATIONAL_ID"),
    ("NI number AB 12 34 56 C", "NI number <NATIONAL_ID>", "NATIONAL_ID"),
]

LOOKALIKES = [
    "order #48392018 arrived on 12/03/2024",
    "ORD-2024-118273 was refunded $1,234.56",
    "on 2024-03-12 at 10:30 I paid €250.00",
    "the 05.08.2015 statement shows 1.500,00 EUR",
    "card ending in 4242, account ****1234",
    "app version 3.2.1 and tracking 1Z999AA10123456784",
    "invoice 2023/18873 for size M 12, a 3.5% fee",
    "a card with an invalid number 4111 1111 1111 1112",
    "IBAN DE00 3704 0044 0532 0130 00 (wrong check digits)",
    "visit https://www.example.com/help for help",  # a URL without credentials stays
    "build 10.4.17 of the app, 2.5 stars",
]


@pytest.mark.parametrize(("text", "expected", "kind"), CASES)
def test_each_kind_is_replaced_by_its_placeholder(text: str, expected: str, kind: str):
    clean, counts = redact(text)
    assert clean == expected
    assert counts == {kind: 1}


@pytest.mark.parametrize("text", LOOKALIKES)
def test_lookalikes_are_left_alone(text: str):
    assert redact(text) == (text, {})


def test_counts_per_kind_over_many_texts():
    texts, counts = redact_texts([c[0] for c in CASES] + LOOKALIKES)
    assert set(counts) == set(KINDS)
    assert counts == {kind: sum(1 for c in CASES if c[2] == kind) for kind in KINDS}
    assert texts[len(CASES):] == LOOKALIKES


def test_no_network_is_touched(monkeypatch: pytest.MonkeyPatch):
    """Building the recognisers and redacting must not open a connection (presidio#1205)."""
    def refuse(*args, **kwargs):
        raise AssertionError("PII redaction tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    redactor = PiiRedactor()  # a fresh one: its construction is checked too
    assert redactor.redact("mail me at someone@example.com")[0] == "mail me at <EMAIL>"
