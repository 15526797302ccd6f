"""``python -m frontdesk.demo``: the fake Northwind API and signed sample identities.

python -m frontdesk.demo api --port 8765       # needs NORTHWIND_ACTION_SECRET
python -m frontdesk.demo token u_1001          # needs NORTHWIND_IDENTITY_SECRET
python -m frontdesk.demo user-hash u_1001      # needs NORTHWIND_USER_HASH_SECRET
"""

from __future__ import annotations

import os

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


def _env(name: str) -> str:
    value = os.environ.get(name, "")
    if len(value.encode()) < 32:
        raise typer.BadParameter(f"set {name} to a secret of at least 32 bytes")
    return value


@app.command()
def api(host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve the fake Northwind Data API (the sample bot's actions call it)."""
    import uvicorn

    from frontdesk.demo.northwind_api import NorthwindState, create_northwind_app

    state = NorthwindState(secret=_env("NORTHWIND_ACTION_SECRET"))
    uvicorn.run(create_northwind_app(state), host=host, port=port, log_level="info")


@app.command()
def token(user_id: str, minutes: int = 30) -> None:
    """Print a signed identity token (JWT) of a sample customer: u_1001, u_2002, u_3003."""
    from frontdesk.demo.identities import sample_token

    typer.echo(sample_token(_env("NORTHWIND_IDENTITY_SECRET"), user_id, minutes=minutes))


@app.command("user-hash")
def user_hash(user_id: str) -> None:
    """Print the HMAC user hash of a user id (the Intercom-style alternative to a token)."""
    from frontdesk.demo.identities import sample_user_hash

    typer.echo(sample_user_hash(_env("NORTHWIND_USER_HASH_SECRET"), user_id))


if __name__ == "__main__":
    app()
