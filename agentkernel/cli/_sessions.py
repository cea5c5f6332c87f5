"""``agentkernel sessions ...`` and ``agentkernel store setup``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from agentkernel.cli._support import (
    Held,
    UserOpt,
    dump,
    fail,
    handled,
    in_memory_note,
    make_console,
    read_settings,
    when,
)
from agentkernel.errors import SessionConflict
from agentkernel.session import DEFAULT_USER
from agentkernel.stores.base import supports_setup

__all__ = ["sessions_app", "store_app"]

sessions_app = typer.Typer(help="List, show, delete, export and import sessions.", no_args_is_help=True)
store_app = typer.Typer(help="Manage the session store that AK_SESSION__TYPE selects.", no_args_is_help=True)


@sessions_app.command("list")
@handled
def sessions_list(
    user: UserOpt = DEFAULT_USER,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Sessions per page.")] = 50,
    cursor: Annotated[str | None, typer.Option(help="The next_cursor a previous page printed.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List a user's sessions, most recently updated first."""
    settings = read_settings()
    in_memory_note(settings)
    with Held(settings) as held:
        try:
            page = held.loop.run(held.runner.sessions.list(user_id=user, limit=limit, cursor=cursor))
        except ValueError as exc:
            fail(str(exc), status=2)
    if as_json:
        dump({"sessions": [_meta_dict(meta) for meta in page.sessions], "next_cursor": page.next_cursor})
        return
    from rich.table import Table

    table = Table("id", "turns", "updated", "name")
    for meta in page.sessions:
        table.add_row(meta.id, str(meta.turn_count), when(meta.updated_at), meta.name or "")
    console = make_console()
    if page.sessions:
        console.print(table)
    else:
        console.print(f"no sessions for user {user}")
    if page.next_cursor:
        console.print(f"more: agentkernel sessions list --cursor {page.next_cursor}")


@sessions_app.command("show")
@handled
def sessions_show(
    session_id: Annotated[str, typer.Argument(metavar="ID", help="The session id.")],
    user: UserOpt = DEFAULT_USER,
    last: Annotated[int | None, typer.Option(min=0, help="Only the newest N turns.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the session and its turns as JSON.")] = False,
) -> None:
    """Show a session's header and turns."""
    settings = read_settings()
    in_memory_note(settings)
    with Held(settings) as held:
        session = held.loop.run(held.runner.sessions.get(session_id, user_id=user, last_turns=last))
    if as_json:
        dump({**_meta_dict(session.meta), "turns": [turn.model_dump(mode="json") for turn in session.turns]})
        return
    console = make_console()
    console.print(f"session {session.id}  user {session.user_id}  version {session.version}  "
                  f"{session.turn_count} turns  updated {when(session.updated_at)}", style="bold")
    for turn in session.turns:
        console.print(f"#{turn.index} [{turn.status}] you -> {turn.agent} ({turn.framework}): {turn.prompt}")
        if turn.error is not None:
            console.print(f"   error: {turn.error.type}: {turn.error.message}", style="red")
        else:
            console.print(f"   {turn.agent}: {turn.output}")


@sessions_app.command("delete")
@handled
def sessions_delete(
    session_id: Annotated[str, typer.Argument(metavar="ID", help="The session id.")],
    user: UserOpt = DEFAULT_USER,
) -> None:
    """Delete a session and everything it stored."""
    settings = read_settings()
    in_memory_note(settings)
    with Held(settings) as held:
        held.loop.run(held.runner.sessions.delete(session_id, user_id=user))
    make_console().print(f"deleted session {session_id}")


@sessions_app.command("export")
@handled
def sessions_export(
    session_id: Annotated[str, typer.Argument(metavar="ID", help="The session id.")],
    user: UserOpt = DEFAULT_USER,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
) -> None:
    """Write a whole session (state and every turn) as JSON.

    A value or turn that cannot be read is left out and named on stderr (exit status 1), so a
    damaged session can still be saved before it is deleted.
    """
    settings = read_settings()
    in_memory_note(settings)
    with Held(settings) as held:
        session = held.loop.run(held.runner.sessions.get(session_id, user_id=user))
    unreadable: list[str] = []
    text = json.dumps(session.to_dict(unreadable=unreadable), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        make_console(stderr=True).print(f"exported session {session_id} to {output}")
    if unreadable:
        lines = "\n".join(f"  {what}" for what in unreadable)
        fail(f"session {session_id!r}: exported what is readable; left out {len(unreadable)} unreadable "
             f"record(s):\n{lines}")


@sessions_app.command("import")
@handled
def sessions_import(
    file: Annotated[str, typer.Argument(metavar="FILE", help="A file `sessions export` wrote, or - for stdin.")],
    user: Annotated[str | None, typer.Option("--user", "-u", help="Owner (default: the exported owner).")] = None,
) -> None:
    """Store a session that `sessions export` wrote. The id must not be in use."""
    from agentkernel.session import Session

    try:
        raw = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        session = Session.from_dict(json.loads(raw), user_id=user)
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}", status=2)
    except (ValueError, KeyError, TypeError) as exc:
        fail(f"{file} is not a session export: {exc}", status=2)
    settings = read_settings()
    in_memory_note(settings)
    with Held(settings) as held:
        try:
            held.loop.run(held.runner.sessions.save(session))
        except SessionConflict:
            fail(f"session {session.id!r} already exists; delete it first or edit the id in the file")
    make_console().print(f"imported session {session.id} ({session.turn_count} turns) for user {session.user_id}")


def _meta_dict(meta: Any) -> dict[str, Any]:
    return {
        "id": meta.id,
        "user_id": meta.user_id,
        "created_at": meta.created_at,
        "updated_at": meta.updated_at,
        "version": meta.version,
        "name": meta.name,
        "tags": list(meta.tags),
        "turn_count": meta.turn_count,
    }


# ------------------------------------------------------------------- store
@store_app.command("setup")
@handled
def store_setup() -> None:
    """Create what the store needs (DynamoDB tables, say), if it needs anything. Safe to repeat."""
    settings = read_settings()
    with Held(settings) as held:
        store = held.runner.store
        if not supports_setup(store):
            make_console().print(f"the {settings.session.type} store has nothing to set up")
            return
        with make_console(stderr=True).status(f"setting up the {settings.session.type} store..."):
            created = held.loop.run(store.setup())
    kind = settings.session.type
    if created:
        make_console().print(f"the {kind} store is set up")
    else:
        make_console().print(f"the {kind} store was already set up; nothing changed")
