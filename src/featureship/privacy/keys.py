"""Bundle keys: read from an environment variable, stretched into an encryption and a MAC key.

The variable holds either
- a random 32-byte key as 64 hex digits or base64 (what `featureship keygen` prints), or
- a passphrase of at least 12 characters, stretched with scrypt (n=2**15, r=8, p=1).

Either way HKDF-SHA256 with the bundle's random salt (stored in the manifest; a salt is not a
secret) derives two independent 32-byte keys: one for AES-256-GCM, one for HMAC-SHA256 over
the manifest. The secret itself is never written anywhere, logged or shown in a repr.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass, field

from featureship.errors import MissingExtraError, SettingsError

KEY_BYTES = 32
MIN_PASSPHRASE = 12
SCRYPT = {"n": 2**15, "r": 8, "p": 1}
_HKDF_INFO = b"featureship bundle keys v1"
_KEY_CHECK = b"featureship key check v1"
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class DerivedKeys:
    encryption: bytes
    mac: bytes

    def __repr__(self) -> str:
        return "DerivedKeys(<hidden>)"

    def key_check(self) -> str:
        """A value that tells a wrong key from an edited manifest; reveals nothing of the key."""
        return hmac.new(self.mac, _KEY_CHECK, hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True)
class BundleKey:
    """The secret that encrypts or signs a bundle, and the variable it came from (for messages).

    Build one with `key_from_env("FEATURESHIP_KEY")`, or `BundleKey(secret)` in Python.
    """

    secret: str = field(repr=False)
    env: str | None = None
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __repr__(self) -> str:
        return f"BundleKey(env={self.env!r}, secret=<hidden>)"

    @property
    def where(self) -> str:
        """How the user gave the key, for error messages: `$FS_KEY` or 'the key'."""
        return f"the key in ${self.env}" if self.env else "the key given"

    def raw(self) -> bytes | None:
        """The 32-byte key if the secret is one (hex or base64), else None (a passphrase)."""
        text = self.secret.strip()
        if _HEX.match(text):
            return bytes.fromhex(text)
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                value = decode(text + "=" * (-len(text) % 4))
            except (binascii.Error, ValueError):
                continue
            if len(value) == KEY_BYTES:
                return value
        return None

    def kdf_params(self, salt: bytes) -> dict:
        """What the manifest records about the derivation (never the secret)."""
        salt_text = base64.b64encode(salt).decode()
        if self.raw() is not None:
            return {"name": "hkdf-sha256", "salt": salt_text}
        return {"name": "scrypt+hkdf-sha256", "salt": salt_text, **SCRYPT}

    def derive(self, kdf: dict) -> DerivedKeys:
        """Both keys for a bundle whose manifest recorded `kdf` (see `kdf_params`)."""
        try:
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.kdf.hkdf import HKDF
            from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
        except ImportError:
            raise MissingExtraError("cryptography", "privacy", "Bundle keys") from None

        cache_key = tuple(sorted((k, str(v)) for k, v in kdf.items()))
        if cache_key in self._cache:
            return self._cache[cache_key]
        salt = base64.b64decode(kdf["salt"])
        material = self.raw()
        if kdf["name"] == "scrypt+hkdf-sha256":
            if material is not None:
                raise SettingsError(f"{self.where} is a raw 32-byte key, but this bundle was protected "
                                    "with a passphrase; give the passphrase it was protected with.")
            self._check_passphrase()
            material = Scrypt(salt=salt, length=KEY_BYTES, n=int(kdf["n"]), r=int(kdf["r"]),
                              p=int(kdf["p"])).derive(self.secret.encode("utf-8"))
        elif kdf["name"] == "hkdf-sha256":
            if material is None:
                raise SettingsError(f"{self.where} is a passphrase, but this bundle was protected with "
                                    "a raw 32-byte key (hex or base64); give that key.")
        else:
            raise SettingsError(f"Unknown key derivation '{kdf['name']}'; upgrade featureship.")
        both = HKDF(algorithm=hashes.SHA256(), length=2 * KEY_BYTES, salt=salt,
                    info=_HKDF_INFO).derive(material)
        keys = DerivedKeys(both[:KEY_BYTES], both[KEY_BYTES:])
        self._cache[cache_key] = keys
        return keys

    def check_usable(self) -> None:
        """Refuse an empty or short secret before any work is done."""
        if self.raw() is None:
            self._check_passphrase()

    def _check_passphrase(self) -> None:
        if len(self.secret.strip()) < MIN_PASSPHRASE:
            raise SettingsError(
                f"{self.where} is neither a 32-byte key (64 hex digits or base64) nor a passphrase "
                f"of at least {MIN_PASSPHRASE} characters. Make a key with `featureship keygen`."
            )


def as_key(key: BundleKey | str | bytes | None) -> BundleKey | None:
    """What the Python API accepts for `key=`: a BundleKey, the secret text, or 32 raw bytes."""
    if key is None or isinstance(key, BundleKey):
        return key
    if isinstance(key, bytes):
        if len(key) != KEY_BYTES:
            raise SettingsError(f"A key given as bytes must be {KEY_BYTES} bytes long; got {len(key)}.")
        return BundleKey(key.hex())
    if isinstance(key, str):
        return BundleKey(key)
    raise SettingsError(f"key= takes a BundleKey, a string or {KEY_BYTES} bytes; got {type(key).__name__}.")


def key_from_env(name: str | None, flag: str = "--key-env") -> BundleKey | None:
    """The key held by environment variable `name` (None when no variable was named)."""
    if name is None:
        return None
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
        raise SettingsError(f"{flag} takes the NAME of an environment variable (e.g. FEATURESHIP_KEY), "
                            f"not the key itself; got something that is not a variable name.")
    value = os.environ.get(name)
    if not value or not value.strip():
        raise SettingsError(
            f"{flag} {name}: the environment variable {name} is not set or is empty. Export the key "
            f"first (`export {name}=...`; make one with `featureship keygen`)."
        )
    key = BundleKey(value, env=name)
    key.check_usable()
    return key


def new_key() -> str:
    """A fresh random 32-byte key, base64 (what `featureship keygen` prints)."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()
