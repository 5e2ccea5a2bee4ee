"""Privacy guards: encrypted and signed bundles, PII redaction, differential privacy.

    keys.py      BundleKey / key_from_env: the secret from an environment variable, derived keys
    sealing.py   AES-256-GCM per file, HMAC-SHA256 over the manifest, sign / verify
    pii.py       typed placeholders for e-mail, phone, card, IBAN, IP, URL credentials, national ids
    dp.py        DP-SGD (Opacus) for a linear head on frozen features

Heavy libraries (cryptography, presidio, opacus) are imported inside the functions that use them.
"""

from featureship.privacy.keys import BundleKey, key_from_env, new_key

__all__ = ["BundleKey", "key_from_env", "new_key"]
