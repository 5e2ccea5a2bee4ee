"""A PII benchmark set built from real texts: banking77 queries and clothing reviews with PII
injected in varied formats, plus look-alikes (order numbers, dates, amounts, ...) that must stay.

Every injected value is realistic: cards pass Luhn, IBANs pass mod-97 in their country's
format, phone numbers are numbers `phonenumbers` says can exist, SSNs avoid the ranges never
issued. Each example records the character spans of what was injected.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
REVIEWS = ROOT.parent / "shared" / "datasets" / "womens-clothing-reviews" / "reviews.csv"
BANKING = ROOT / "src" / "featureship" / "datasets" / "banking77.csv"

FIRST = ["anna", "john", "li", "maria", "o.brien", "sam", "priya", "jean-luc", "kofi", "zoe", "mike"]
LAST = ["smith", "garcia", "nguyen", "mueller", "rossi", "kim", "patel", "dubois", "okafor", "ng"]
DOMAINS = ["gmail.com", "yahoo.co.uk", "outlook.com", "mail.example.org", "acme-corp.de",
           "uni.edu.au", "proton.me", "company.io", "bank.fr", "shop.co.jp", "xn--bcher-kva.de"]


@dataclass
class Example:
    text: str
    spans: list[tuple[str, int, int]] = field(default_factory=list)  # (kind, start, end)
    lookalikes: list[str] = field(default_factory=list)


def luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    digits = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d)
        if i % 2 == 0:
            n *= 2
            n -= 9 if n > 9 else 0
        total += n
    return digits + str((10 - total % 10) % 10)


def card(rng: random.Random) -> str:
    kind = rng.choice(["visa", "visa", "mc", "amex", "discover"])
    if kind == "amex":
        number = luhn_complete(rng.choice(["34", "37"]), 15, rng)
        sep = rng.choice([" ", "-", ""])
        return sep.join([number[:4], number[4:10], number[10:]])
    prefix = {"visa": "4", "mc": str(rng.randint(51, 55)), "discover": "6011"}[kind]
    number = luhn_complete(prefix, 16, rng)
    sep = rng.choice([" ", "-", "", " "])
    return sep.join(number[i:i + 4] for i in range(0, 16, 4))


_IBAN_FORMATS = {  # country: BBAN layout (n: digit, a: upper letter)
    "DE": "n" * 18, "GB": "aaaa" + "n" * 14, "NL": "aaaa" + "n" * 10, "ES": "n" * 20,
    "FR": "n" * 23, "BE": "n" * 12, "CH": "n" * 17, "IT": "a" + "n" * 22, "AT": "n" * 16,
}


def iban(rng: random.Random) -> str:
    country = rng.choice(list(_IBAN_FORMATS))
    bban = "".join(rng.choice(string.digits if c == "n" else string.ascii_uppercase)
                   for c in _IBAN_FORMATS[country])
    numeric = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    value = f"{country}{98 - int(numeric) % 97:02d}{bban}"
    if rng.random() < 0.6:
        return " ".join(value[i:i + 4] for i in range(0, len(value), 4))
    return value


def phone(rng: random.Random) -> str:
    import phonenumbers

    while True:
        region = rng.choice(["US", "US", "GB", "DE", "FR", "IN", "CA", "AU", "IE", "NL"])
        example = phonenumbers.example_number_for_type(region, rng.choice(
            [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]))
        national = str(example.national_number)
        # keep the leading digits (area/mobile prefix), vary the rest
        keep = max(3, len(national) - 4)
        candidate = national[:keep] + "".join(rng.choice(string.digits) for _ in range(len(national) - keep))
        number = phonenumbers.parse(candidate, region)
        if not phonenumbers.is_valid_number(number):
            continue
        style = rng.choice(["intl", "intl", "national", "e164", "us-dots" if region in ("US", "CA") else "national"])
        if style == "intl":
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        if style == "e164":
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if style == "us-dots":
            n = str(number.national_number)
            return f"{n[:3]}.{n[3:6]}.{n[6:]}"
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def email(rng: random.Random) -> str:
    user = rng.choice(FIRST) + rng.choice([".", "_", "", "-"]) + rng.choice(LAST)
    if rng.random() < 0.3:
        user += str(rng.randint(1, 999))
    if rng.random() < 0.15:
        user += "+" + rng.choice(["bank", "news", "x"])
    value = f"{user}@{rng.choice(DOMAINS)}"
    return value.upper() if rng.random() < 0.1 else value


def ip(rng: random.Random) -> str:
    if rng.random() < 0.75:
        return ".".join(str(rng.randint(1, 254)) for _ in range(4))
    groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(8)]
    if rng.random() < 0.5:
        return ":".join(groups)
    return ":".join(groups[:3]) + "::" + groups[-1]


def credential_url(rng: random.Random) -> str:
    scheme = rng.choice(["https", "http", "ftp", "postgres", "redis", "smtp"])
    user = rng.choice(FIRST).replace(".", "")
    password = "".join(rng.choice(string.ascii_letters + string.digits + "!$%*") for _ in range(rng.randint(6, 14)))
    host = rng.choice(["api.example.com", "db.internal.acme.io", "10.0.3.7:5432", "files.bank.co.uk"])
    path = rng.choice(["", "/v1/accounts", "/export?id=7", "/"])
    return f"{scheme}://{user}:{password}@{host}{path}"


def national_id(rng: random.Random) -> str:
    kind = rng.choice(["ssn", "ssn", "nino", "sin"])
    if kind == "ssn":
        area = rng.choice([a for a in range(1, 900) if a != 666])
        return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
    if kind == "nino":
        first = rng.choice("ABCEGHJKLMNPRSTWXYZ")
        second = rng.choice("ABCEGHJKLMNPRSTWXYZ".replace("O", ""))
        if first + second in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ"):
            second = "A"
        digits = "".join(rng.choice(string.digits) for _ in range(6))
        suffix = rng.choice("ABCD")
        if rng.random() < 0.5:
            return f"{first}{second} {digits[:2]} {digits[2:4]} {digits[4:]} {suffix}"
        return f"{first}{second}{digits}{suffix}"
    number = luhn_complete(str(rng.choice([1, 2, 3, 4, 5, 6, 7, 9])), 9, rng)
    return f"{number[:3]} {number[3:6]} {number[6:]}"


GENERATORS = {"EMAIL": email, "PHONE": phone, "CARD": card, "IBAN": iban, "IP": ip,
              "URL": credential_url, "NATIONAL_ID": national_id}
TEMPLATES = {
    "EMAIL": ["my email is {v}", "contact me at {v}", "({v})", "send it to {v}."],
    "PHONE": ["call me on {v}", "my number is {v}", "phone: {v}", "ring {v} please"],
    "CARD": ["my card {v} was charged", "card number {v}", "paid with {v}"],
    "IBAN": ["transfer to {v}", "my IBAN is {v}", "account {v} please"],
    "IP": ["logged in from {v}", "ip {v}", "the app showed {v} as my address"],
    "URL": ["the export link {v} failed", "see {v}", "I used {v} to download"],
    "NATIONAL_ID": ["my SSN is {v}", "national insurance number {v}", "SIN {v}", "id {v}"],
}


def lookalike(rng: random.Random) -> str:
    choices = [
        lambda: f"order #{rng.randint(10_000, 99_999_999)}",
        lambda: f"ORD-{rng.randint(2019, 2025)}-{rng.randint(100000, 999999)}",
        lambda: f"reference {rng.choice(string.ascii_uppercase)}{rng.randint(10, 99)}-{rng.randint(1000000, 9999999)}",
        lambda: f"on {rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(2015, 2025)}",
        lambda: f"on {rng.randint(2015, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        lambda: f"on {rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.{rng.randint(2015, 2025)}",
        lambda: f"for ${rng.randint(1, 99)},{rng.randint(100, 999)}.{rng.randint(10, 99)}",
        lambda: f"of €{rng.randint(5, 5000)}.{rng.randint(10, 99)}",
        lambda: f"{rng.randint(1, 9)}.{rng.randint(100, 999)},{rng.randint(10, 99)} EUR",
        lambda: f"at {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
        lambda: f"card ending in {rng.randint(1000, 9999)}",
        lambda: f"account ****{rng.randint(1000, 9999)}",
        lambda: f"version {rng.randint(1, 20)}.{rng.randint(0, 9)}.{rng.randint(0, 30)}",
        lambda: f"tracking 1Z{rng.randint(100, 999)}AA{rng.randint(10**9, 10**10 - 1)}",
        lambda: f"size {rng.choice(['XS', 'S', 'M', 'L'])} {rng.randint(2, 16)}",
        lambda: f"{rng.randint(1, 99)}.{rng.randint(1, 9)}% fee",
        lambda: f"invoice {rng.randint(2020, 2025)}/{rng.randint(1000, 99999)}",
    ]
    return rng.choice(choices)()


def real_texts(limit: int, seed: int) -> list[str]:
    texts = pd.read_csv(BANKING)["text"].dropna().astype(str).tolist()
    if REVIEWS.is_file():
        reviews = pd.read_csv(REVIEWS)["Review Text"].dropna().astype(str)
        texts += [t for t in reviews.tolist() if len(t) < 400]
    rng = random.Random(seed)
    rng.shuffle(texts)
    return texts[:limit]


def build(n_per_kind: int = 200, n_lookalike: int = 800, n_clean: int = 400, seed: int = 0) -> list[Example]:
    """Examples with one injected value each, look-alike-only examples, and untouched texts."""
    rng = random.Random(seed)
    texts = real_texts(n_per_kind * len(GENERATORS) + n_lookalike + n_clean, seed)
    examples, i = [], 0
    for kind, make in GENERATORS.items():
        for _ in range(n_per_kind):
            value = make(rng)
            phrase = rng.choice(TEMPLATES[kind])
            before, after = phrase.split("{v}")
            base = texts[i].rstrip()
            i += 1
            extra = f" and {lookalike(rng)}" if rng.random() < 0.3 else ""
            if rng.random() < 0.5:
                text = f"{base} {before}"
                start = len(text)
                text += value + after + extra
            else:
                text = before[:1].upper() + before[1:]
                start = len(text)
                text += value + after + extra + " " + base
            examples.append(Example(text, [(kind, start, start + len(value))]))
    for _ in range(n_lookalike):
        look = lookalike(rng)
        examples.append(Example(f"{texts[i].rstrip()} {look}", lookalikes=[look]))
        i += 1
    for _ in range(n_clean):
        examples.append(Example(texts[i]))
        i += 1
    return examples
