"""`featureship sign`, `verify` and `keygen`: authenticity for bundles (featureship.privacy)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from featureship.cli._common import app, console, print_json, user_errors


@app.command()
@user_errors
def sign(
    bundle: Annotated[Path, typer.Argument(help="Model bundle folder (unencrypted).")],
    key_env: Annotated[str, typer.Option("--key-env", help="Environment variable holding the signing key.")],
) -> None:
    """Sign a bundle's manifest (HMAC-SHA256 under a key): an edited file and its hash are caught."""
    from featureship.privacy.keys import key_from_env
    from featureship.privacy.sealing import sign_bundle

    sign_bundle(bundle, key_from_env(key_env))
    console.print(f"signed {bundle} with the key in ${key_env}; check it with "
                  f"`featureship verify {bundle} --key-env {key_env}`")


@app.command()
@user_errors
def verify(
    bundle: Annotated[Path, typer.Argument(help="Model bundle folder.")],
    key_env: Annotated[str | None, typer.Option("--key-env", help="Environment variable holding the key (checks the signature, and decrypts every file of an encrypted bundle).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
) -> None:
    """Check a bundle without loading it: every checksum, and with --key-env its signature."""
    from featureship.privacy.keys import key_from_env
    from featureship.privacy.sealing import verify_bundle

    result = verify_bundle(bundle, key_from_env(key_env))
    if as_json:
        print_json(result)
        return
    console.print(f"{bundle}: {result['files']} file(s), checksums ok")
    if result["authenticated"]:
        what = "decrypted and authenticated every file" if result.get("decrypts") else "signature ok"
        console.print(f"{'encrypted' if result['encrypted'] else 'signed'}: {what} under the key in ${key_env}")
    elif result["signed"]:
        console.print("[yellow]not authenticated:[/] the bundle is "
                      f"{'encrypted' if result['encrypted'] else 'signed'}; pass --key-env VAR to check it. "
                      "Checksums alone catch damage, not a deliberate edit of a file and its hash.")
    else:
        console.print("[yellow]unsigned:[/] checksums catch damage, not a deliberate edit of a file and "
                      "its hash together; sign it with `featureship sign DIR --key-env VAR`.")


@app.command()
@user_errors
def keygen() -> None:
    """Print a new random 32-byte key (base64) for --encrypt-key-env / --key-env."""
    from featureship.privacy.keys import new_key

    typer.echo(new_key())
