"""`acsa keys ...`: this node's Ed25519 key and its officials', partners' public keys."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
from sqlalchemy.orm import Session

from acsa import errors
from acsa.cli.common import JsonOpt, emit, fail, out, run, table
from acsa.sync import keys, node
from acsa.sync.models import NodeKey

app = typer.Typer(help="Signing keys: this node's own (kept encrypted under a passphrase) and "
                  "the partners' public keys, registered per agreement after checking their "
                  "fingerprints out of band.", no_args_is_help=True)

OfficialOpt = typer.Option(None, "--official", help="An official's own key rather than the "
                           "node's (an official of this node's party; with --partner, of the "
                           "partner's).")


def _interactive() -> bool:
    return sys.stdin.isatty()


def _passphrase(as_json: bool) -> str:
    """The passphrase for a new key: ACSA_KEY_PASSPHRASE, else asked twice on the terminal."""
    value = os.environ.get(keys.PASSPHRASE_ENV)
    if value:
        return value
    if not _interactive():
        fail(errors.InvalidInput(
            f"a passphrase is needed to encrypt the new private key: set {keys.PASSPHRASE_ENV} "
            "(there is no terminal to ask on)", field="passphrase",
            hint=f"Run it in a terminal, or set {keys.PASSPHRASE_ENV} in the environment (at "
                 "least 8 characters; keep it safe: without it the key cannot sign)."), as_json)
    return str(typer.prompt("Passphrase for the new private key (at least 8 characters)",
                            hide_input=True, confirmation_prompt=True, err=True))


def _who(row: NodeKey) -> str:
    return f"official {row.official_code} of {row.party}" if row.official_code else \
        f"node {row.party}"


def _created(row: NodeKey, as_json: bool, what: str, extra: str = "") -> None:
    data = keys.key_view(row)

    def render() -> None:
        out.print(f"{what} for {_who(row)}{extra}", highlight=False)
        out.print(f"  fingerprint: {display_full(row.fingerprint)}", highlight=False)
        out.print(f"  public key:  {row.public_key}", highlight=False)
        if row.own:
            out.print("Give the partner the public key, and read the fingerprint to them out of "
                      "band (phone, in person) so they can check it before registering it.",
                      highlight=False)
    emit(data, as_json, render)


def display_full(fp: str) -> str:
    """The grouped 32 digits people compare, then the rest of the fingerprint."""
    return f"{keys.display(fp)}  ({fp})"


@app.command("init")
def init(official: str | None = typer.Option(None, "--official", help="Create the key of one "
                                            "of this node's party's officials, not the "
                                            "node's."),
         as_json: bool = JsonOpt) -> None:
    """Create this node's Ed25519 key (or an official's), its private key encrypted under a
    passphrase (ACSA_KEY_PASSPHRASE, else asked for twice). The node's party must be set
    (`acsa init --party CODE`); a second active key is refused: use `acsa keys rotate`."""
    run(lambda s: keys.check_init(s, official), as_json=as_json)  # refuse before asking
    passphrase = _passphrase(as_json)
    run(lambda s: _created(keys.init_key(s, passphrase=passphrase, official=official),
                           as_json, "key created"), as_json=as_json)


@app.command("show")
def show(as_json: bool = JsonOpt) -> None:
    """Our keys and the partners' with their fingerprints and status, and our public key in
    full, to hand to the partner."""
    def go(s: Session) -> None:
        party = node.require_party(s)
        rows = keys.show(s)
        data: dict[str, Any] = {"party": party, "keys": rows}

        def render() -> None:
            ours = [r for r in rows if r["own"]]
            theirs = [r for r in rows if not r["own"]]
            out.print(f"This is the node of {party}.", highlight=False)
            if not ours:
                out.print("It has no key yet: create one with `acsa keys init`.",
                          highlight=False)
            else:
                table("Our keys", ["key of", "fingerprint", "status", "since"],
                      [[r["official"] or "node", r["display"], _status(r),
                        r["created_at"][:10]] for r in ours])
                for r in ours:
                    if r["status"] == keys.ACTIVE:
                        of = f"official {r['official']}" if r["official"] else "the node"
                        out.print(f"Public key of {of} (give it to partners):\n"
                                  f"{r['public_key']}", highlight=False)
            if theirs:
                table("Partners' keys", ["party", "agreement", "key of", "fingerprint",
                                         "status", "since", "url"],
                      [[r["party"], r["agreement"], r["official"] or "node", r["display"],
                        _status(r), r["created_at"][:10], r["url"]] for r in theirs])
            else:
                out.print("No partner key registered: `acsa keys add-partner PARTY KEYHEX "
                          "--agreement CODE`.", highlight=False)
        emit(data, as_json, render)
    run(go, as_json=as_json)


def _status(r: dict[str, Any]) -> str:
    if r["status"] == keys.ROTATED and r["rotated_at"]:
        return f"rotated {r['rotated_at'][:10]}"
    if r["status"] == keys.REVOKED:
        when = r["revoked_at"][:10] if r["revoked_at"] else ""
        return f"REVOKED {when}: {r['reason']}"
    return str(r["status"])


@app.command("add-partner")
def add_partner(party: str = typer.Argument(..., help="The partner's party code (PH, JP, US "
                                            "...)."),
                public_key: str = typer.Argument(..., metavar="PUBLIC_KEY_HEX",
                                                 help="Its public key: the 64 hex digits "
                                                 "`acsa keys show` prints on its node."),
                agreement: str = typer.Option(..., "--agreement", help="The agreement between "
                                              "us the key is registered for."),
                url: str = typer.Option("", "--url", help="The partner node's base URL, for "
                                        "`acsa sync push/pull`."),
                official: str | None = typer.Option(None, "--official", help="The key is one "
                                                    "of the partner's officials', not its "
                                                    "node's."),
                as_json: bool = JsonOpt) -> None:
    """Register a partner's public key for an agreement. Check the fingerprint printed here
    with the partner out of band (phone, in person) before relying on it. A partner's node
    key: our reconciliation summary with it is computed and cached at once (the first
    reconciliation then starts warm)."""
    run(lambda s: _created(keys.add_partner(s, party=party, public_hex=public_key,
                                            agreement=agreement, url=url, official=official),
                           as_json, "partner key registered",
                           f" under {agreement.upper()}"), as_json=as_json)
    if official is None:
        from acsa.cli.sync import prepare_reconciliation

        prepared = prepare_reconciliation(party.upper(), applied=1)
        if prepared and not as_json:
            out.print(f"reconciliation summary cached: {', '.join(prepared)}",
                      highlight=False)


@app.command("rotate")
def rotate(official: str | None = OfficialOpt,
           partner: str | None = typer.Option(None, "--partner", help="Register a partner's "
                                              "new key instead of replacing our own."),
           key: str | None = typer.Option(None, "--key", help="With --partner: its new public "
                                          "key, 64 hex digits."),
           agreement: str | None = typer.Option(None, "--agreement", help="With --partner: "
                                                "the agreement its key is registered for."),
           as_json: bool = JsonOpt) -> None:
    """Replace a key. Our own (the node's, or --official's): a new key pair is made under a
    passphrase (ACSA_KEY_PASSPHRASE, else asked for twice). A partner's (--partner PARTY --key
    HEX --agreement CODE): its new public key is registered. Either way the old key stays
    valid for what it signed before now, and verifies nothing signed later."""
    if partner is None:
        if key is not None or agreement is not None:
            raise typer.BadParameter("--key and --agreement go with --partner PARTY")
        run(lambda s: keys.own_key(s, official), as_json=as_json)  # refuse before asking
        passphrase = _passphrase(as_json)
        run(lambda s: _created(keys.rotate(s, passphrase=passphrase, official=official),
                               as_json, "new key"), as_json=as_json)
        return
    if key is None or agreement is None:
        raise typer.BadParameter("a partner's rotation needs --key HEX and --agreement CODE")
    run(lambda s: _created(keys.rotate_partner(s, party=partner, public_hex=key,
                                               agreement=agreement, official=official),
                           as_json, "partner's new key registered",
                           f" under {agreement.upper()}"), as_json=as_json)


@app.command("revoke")
def revoke(fingerprint: str = typer.Argument(..., help="The key's fingerprint, or its first 8 "
                                             "or more hex digits (as `acsa keys show` "
                                             "prints it)."),
           reason: str = typer.Option(..., "--reason", help="Why (kept with the key and in "
                                      "the audit trail)."),
           as_json: bool = JsonOpt) -> None:
    """Revoke a key, ours or a partner's: it verifies nothing from now on, not even what it
    signed before. Revoking our own key drops its private key; make a new one with `acsa keys
    init`."""
    def go(s: Session) -> None:
        row = keys.revoke(s, fingerprint=fingerprint, reason=reason)
        emit(keys.key_view(row), as_json, lambda: out.print(
            f"key {keys.display(row.fingerprint)} of {_who(row)} revoked: {row.reason}"
            + ("\nThis node has no active key now: create one with `acsa keys init`."
               if row.own and row.official_code is None else ""), highlight=False))
    run(go, as_json=as_json)
