"""`acsa serve` and `acsa users ...`: the HTTP API server and the people who sign in to it."""

from __future__ import annotations

import sys

import typer
from sqlalchemy.orm import Session

from acsa.cli.common import STATE, JsonOpt, emit, out, run, table
from acsa.db import migrate
from acsa.db.engine import get_engine
from acsa.errors import InvalidInput

# `acsa.users.service` (password hashing) is imported inside the `users` commands: every `acsa`
# command loads this module to list its commands.

users_app = typer.Typer(help="Users who sign in to the API and web application.",
                        no_args_is_help=True)


def serve(host: str = typer.Option("127.0.0.1", help="Address to listen on."),
          port: int = typer.Option(8000, help="Port to listen on."),
          secure_cookies: bool = typer.Option(False, help="Mark session cookies Secure even "
                                              "on plain HTTP (always so behind HTTPS)."),
          workers: int = typer.Option(1, help="Worker threads' event loops (1 is right for "
                                      "SQLite).", hidden=True),
          ssl_certfile: str | None = typer.Option(None, "--ssl-certfile", help="Serve HTTPS "
                                                  "with this certificate (PEM), e.g. for "
                                                  "partner nodes' `acsa sync push/pull`."),
          ssl_keyfile: str | None = typer.Option(None, "--ssl-keyfile", help="The "
                                                 "certificate's private key (PEM).")) -> None:
    """Run the web application and the HTTP API (OpenAPI at /openapi.json, docs at /docs) on
    the CLI's database; over HTTPS with --ssl-certfile and --ssl-keyfile."""
    import uvicorn

    from acsa.api.app import create_app

    engine = get_engine(STATE.db)
    migrate.upgrade(engine)
    if bool(ssl_certfile) != bool(ssl_keyfile):
        raise typer.BadParameter("give both --ssl-certfile and --ssl-keyfile, or neither")
    scheme = "https" if ssl_certfile else "http"
    out.print(f"acsa on {scheme}://{host}:{port}  (API docs: {scheme}://{host}:{port}/docs; "
              f"database {engine.url.render_as_string()})", highlight=False)
    uvicorn.run(create_app(engine, secure_cookies=secure_cookies or scheme == "https"),
                host=host, port=port, log_level="info", access_log=False,
                ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)


@users_app.command("add")
def users_add(username: str,
              party: str = typer.Option(..., help="The user's party (PH, JP, US)."),
              official: str | None = typer.Option(None, help="The official this user signs "
                                                  "as (code)."),
              admin: bool = typer.Option(False, "--admin", help="Administrator of their "
                                         "party."),
              password_stdin: bool = typer.Option(False, "--password-stdin",
                                                  help="Read the password from standard "
                                                  "input instead of prompting."),
              as_json: bool = JsonOpt) -> None:
    """Add a user (the first one with --admin). There is no default password: it is prompted
    for, or read from standard input."""
    from acsa.users import service as users

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)

    def go(s: Session) -> None:
        if not password:
            raise InvalidInput("a password is required", field="password")
        user = users.add_user(s, username=username, password=password, party=party.upper(),
                              official=official, is_admin=admin)
        emit({"username": user.username, "party": user.party_code, "is_admin": user.is_admin},
             as_json, lambda: out.print(f"user {user.username} ({user.party_code}"
                                        f"{', administrator' if user.is_admin else ''}) added"))
    run(go, as_json=as_json)


@users_app.command("list")
def users_list(party: str | None = None, as_json: bool = JsonOpt) -> None:
    """Users, with the official each signs as."""
    from acsa.users import service as users

    def go(s: Session) -> None:
        data = []
        for u in users.list_users(s, party.upper() if party else None):
            v = users.viewer_of(s, u)
            data.append({"username": u.username, "party": u.party_code, "official": v.official,
                         "role": v.role, "is_admin": u.is_admin,
                         "locked": u.locked_until is not None})
        emit(data, as_json, lambda: table(
            "Users", ["username", "party", "official", "role", "admin"],
            [[d["username"], d["party"], d["official"] or "-", d["role"] or "-",
              "yes" if d["is_admin"] else ""] for d in data]))
    run(go, as_json=as_json)
