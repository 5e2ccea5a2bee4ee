"""Encrypted and signed bundles: AES-256-GCM per file, HMAC-SHA256 over the manifest.

A protected manifest carries a `protection` block (readable, no secrets):

    "protection": {"scheme": "featureship-seal-1", "encrypted": true, "cipher": "AES-256-GCM",
                   "kdf": {"name": ..., "salt": ...}, "key_env": "FS_KEY", "bundle_id": ...,
                   "key_check": ..., "mac": ...}

- Every file but manifest.json is `MAGIC | nonce (12) | ciphertext+tag` when encrypted; the
  associated data is the bundle id and the file's path, so a file cannot be swapped for one
  from another bundle or another name without failing its tag.
- `files` in the manifest holds the sha256 of what is on disk (the ciphertext), so the
  ordinary checksum check still catches damage without the key.
- `mac` is HMAC-SHA256 under the key over the canonical JSON of the whole manifest (the mac
  left out): an edit of a file *and* its hash, or of any setting, label or metric, fails it.
- `key_check` is an HMAC of a constant: it tells "wrong key" from "edited manifest".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from featureship.errors import BundleError, MissingExtraError, SettingsError
from featureship.privacy.keys import BundleKey, DerivedKeys

SCHEME = "featureship-seal-1"
CIPHER = "AES-256-GCM"
MAGIC = b"FSENC1\0"
_NONCE = 12


def canonical(manifest: dict[str, Any]) -> bytes:
    """The bytes the MAC covers: sorted keys, no spaces, the mac itself left out."""
    body = dict(manifest)
    protection = dict(body.get("protection") or {})
    protection.pop("mac", None)
    body["protection"] = protection
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def new_protection(key: BundleKey, encrypted: bool) -> tuple[dict[str, Any], DerivedKeys]:
    """A fresh `protection` block (random salt and bundle id) and the keys it derives."""
    kdf = key.kdf_params(secrets.token_bytes(16))
    keys = key.derive(kdf)
    block: dict[str, Any] = {"scheme": SCHEME, "encrypted": encrypted}
    if encrypted:
        block["cipher"] = CIPHER
    block.update({"kdf": kdf, "key_env": key.env, "bundle_id": secrets.token_hex(16),
                  "key_check": keys.key_check()})
    return block, keys


def seal_manifest(manifest: dict[str, Any], keys: DerivedKeys) -> dict[str, Any]:
    """`manifest` with protection.mac set (its protection block must be filled already)."""
    mac = hmac.new(keys.mac, canonical(manifest), hashlib.sha256).hexdigest()
    return {**manifest, "protection": {**manifest["protection"], "mac": mac}}


def _aad(block: dict[str, Any], name: str) -> bytes:
    return f"{SCHEME}|{block['bundle_id']}|{name}".encode()


def _aesgcm(key: bytes) -> Any:
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:
        raise MissingExtraError("cryptography", "privacy", "Encrypted bundles") from None
    return AESGCM(key)


def encrypt_file(plain: Path, target: Path, name: str, block: dict[str, Any], keys: DerivedKeys) -> None:
    nonce = secrets.token_bytes(_NONCE)
    sealed = _aesgcm(keys.encryption).encrypt(nonce, plain.read_bytes(), _aad(block, name))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(MAGIC + nonce + sealed)


def decrypt_bytes(data: bytes, name: str, block: dict[str, Any], keys: DerivedKeys, where: Path) -> bytes:
    cipher = _aesgcm(keys.encryption)
    from cryptography.exceptions import InvalidTag

    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + _NONCE + 16:
        raise BundleError(f"{where}/{name} is not an encrypted bundle file; it was replaced after "
                          "training. Refusing to load; restore the bundle or retrain.")
    nonce = data[len(MAGIC):len(MAGIC) + _NONCE]
    try:
        return cipher.decrypt(nonce, data[len(MAGIC) + _NONCE:], _aad(block, name))
    except InvalidTag:
        raise BundleError(f"{where}/{name} fails its AES-GCM authentication: it was changed after "
                          "training. Refusing to load; restore the bundle or retrain.") from None


def protection_of(raw: dict[str, Any]) -> dict[str, Any] | None:
    block = raw.get("protection")
    if block is None:
        return None
    if not isinstance(block, dict) or block.get("scheme") != SCHEME:
        raise BundleError("manifest.json has a 'protection' block featureship does not know "
                          f"(scheme {block.get('scheme') if isinstance(block, dict) else block!r}); "
                          "upgrade featureship or restore the bundle.")
    return block


def authenticate(raw: dict[str, Any], key: BundleKey, directory: Path) -> DerivedKeys:
    """Check the manifest's MAC under `key`; return the derived keys. Names the key on failure."""
    block = protection_of(raw)
    if block is None:
        raise BundleError(
            f"{directory} is neither signed nor encrypted, so {key.where} cannot vouch for it. "
            f"Sign it with `featureship sign {directory} --key-env VAR`, or load it without a key "
            "(checksums only)."
        )
    try:
        keys = key.derive(block["kdf"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"{directory}/manifest.json: its protection block is damaged ({exc}).") from None
    except SettingsError as exc:
        raise BundleError(f"{directory}: {exc}") from None
    if not hmac.compare_digest(str(block.get("key_check", "")), keys.key_check()):
        raise BundleError(
            f"{directory}: {key.where} is not the key this bundle was "
            f"{'encrypted' if block.get('encrypted') else 'signed'} with"
            + (f" (it was made with the key in ${block['key_env']})" if block.get("key_env") else "")
            + ". Give the right key; nothing was loaded."
        )
    expected = hmac.new(keys.mac, canonical(raw), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(str(block.get("mac", "")), expected):
        raise BundleError(
            f"{directory}/manifest.json fails its authentication under the right key: it was edited "
            "after the bundle was written or signed. Refusing to load; restore the bundle or retrain."
        )
    return keys


def missing_key_message(directory: Path, block: dict[str, Any]) -> str:
    env = block.get("key_env") or "VAR"
    return (f"{directory} is an encrypted bundle; give its key: --key-env {env} on the command line "
            f"(with ${env} set to the key it was encrypted with), or featureship.load(path, key=...).")


@contextmanager
def private_folder(prefix: str = "featureship-") -> Iterator[Path]:
    """A 0700 scratch folder, memory-backed (/dev/shm) where the OS has one; removed on exit."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def decrypted(directory: Path, files: dict[str, str], block: dict[str, Any],
              keys: DerivedKeys) -> Iterator[Path]:
    """The bundle's files decrypted into a private memory-backed folder, removed afterwards."""
    with private_folder() as plain:
        for name in files:
            target = plain / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(decrypt_bytes((directory / name).read_bytes(), name, block, keys, directory))
        shutil.copyfile(directory / "manifest.json", plain / "manifest.json")
        yield plain


def check_all_files(directory: Path, files: dict[str, str], block: dict[str, Any],
                    keys: DerivedKeys) -> int:
    """Authenticate every encrypted file without keeping the plaintext; returns how many."""
    for name in files:
        decrypt_bytes((directory / name).read_bytes(), name, block, keys, directory)
    return len(files)




def sign_bundle(directory: str | Path, key: BundleKey) -> dict[str, Any]:
    """Add an HMAC-SHA256 signature under `key` to an unencrypted bundle's manifest.

    The files are checksum-verified first (a damaged bundle is not signed); the manifest is
    replaced atomically. A bundle signed before must verify under `key` to be signed again.
    """
    from featureship.artifacts import MANIFEST, read_manifest, write_json

    directory = Path(directory)
    read_manifest(directory)  # shape and every checksum
    path = directory / MANIFEST
    raw = json.loads(path.read_text(encoding="utf-8"))
    block = protection_of(raw)
    if block is not None and block.get("encrypted"):
        raise SettingsError(f"{directory} is encrypted, which already authenticates every file and "
                            "the manifest; it needs no signature.")
    if block is not None:
        authenticate(raw, key, directory)  # re-signing needs the key it was signed with
    block, keys = new_protection(key, encrypted=False)
    sealed = seal_manifest({**raw, "protection": block}, keys)
    tmp = path.with_name(f".{MANIFEST}.{secrets.token_hex(4)}.tmp")
    write_json(tmp, sealed)
    os.replace(tmp, path)
    return block


def verify_bundle(directory: str | Path, key: BundleKey | None = None) -> dict[str, Any]:
    """Check a bundle without loading it: checksums always; the MAC and every file's AES-GCM
    tag with `key`. Raises BundleError on the first problem; returns what was checked."""
    from featureship.artifacts import read_manifest

    directory = Path(directory)
    manifest = read_manifest(directory, key=key)
    block = manifest.protection or {}
    result: dict[str, Any] = {"bundle": str(directory), "files": len(manifest.files),
                              "checksums": "ok", "encrypted": bool(block.get("encrypted")),
                              "signed": bool(block), "authenticated": key is not None}
    if key is not None and block.get("encrypted"):
        check_all_files(directory, manifest.files, block, key.derive(block["kdf"]))
        result["decrypts"] = "ok"
    return result
