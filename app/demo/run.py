"""One `hourline demo`: find the demo team (or delete it, with `--reset`), make it,
print the logins and a short curl tour.

`run_demo` works on the system the settings name; `app.cli` decides which (the running
`hourline serve`, DATABASE_URL/REDIS_URL, or embedded services it starts itself).
"""

import json
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import httpx
from fastapi import FastAPI
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from app.config import Settings
from app.core.db import Database, unit_of_work
from app.demo.agency import PASSWORD, PEOPLE, TEAM_NAME, Calendar
from app.demo.people import create_demo_team, find_demo_team, owner_token
from app.demo.seed import STEPS, DemoError, Seeded, seed
from app.main import create_app

# The demo's API key, shown once by the API, kept here so a second run can show it again.
KEY_FILE = "demo.json"


async def demo_exists(settings: Settings) -> bool:
    """Whether the database holds the demo team (for `hourline serve`'s banner)."""
    assert settings.database_url
    db = Database(settings.database_url, pool_size=1)
    try:
        async with db.sessionmaker() as session:
            return await find_demo_team(session) is not None
    finally:
        await db.dispose()


def login_lines(api_url: str) -> list[str]:
    """Every demo login, two a line."""
    role = max(len(p.role) for p in PEOPLE)
    email = max(len(p.email) for p in PEOPLE)
    cells = [f"{p.role:<{role}} {p.email:<{email}}" for p in PEOPLE]
    lines = [f"Logins at {api_url} (password {PASSWORD} for each):"]
    lines += ["  " + "   ".join(cells[i : i + 2]).rstrip() for i in range(0, len(cells), 2)]
    return lines


def tour_lines(api_url: str, team_id: uuid.UUID, key: str, seeded: Seeded) -> list[str]:
    """Five things to try with curl over the demo's data."""
    auth = 'curl -sS -H "Authorization: Bearer $KEY"'
    harbor = seeded.clients["harbor"]
    opened = seeded.invoices["open"]
    return [
        "Try it (bash):",
        f"  export API={api_url} TEAM={team_id} KEY={key}",
        f"  {auth} $API/v1/teams/$TEAM/clients",
        f"  {auth} $API/v1/teams/$TEAM/invoices -H 'content-type: application/json'"
        f' -d \'{{"client_id":"{harbor}"}}\'',
        f"  {auth} $API/v1/teams/$TEAM/invoices/{opened['id']}/pdf -o invoice.pdf",
        f'  {auth} "$API/v1/teams/$TEAM/events?types=invoice.overdue,payment.succeeded"',
        f"  pay page: {opened['pay_url']}",
    ]


def _saved_key(home: Path, team_id: uuid.UUID) -> str | None:
    try:
        saved = json.loads((home / KEY_FILE).read_text())
    except (OSError, ValueError):
        return None
    return saved.get("api_key") if saved.get("team_id") == str(team_id) else None


def _save_key(home: Path, team_id: uuid.UUID, key: str) -> None:
    path = home / KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps({"team_id": str(team_id), "api_key": key}) + "\n")


async def _delete_team(app: FastAPI, team_id: uuid.UUID) -> None:
    """Delete the demo team through the API (the team delete service), as its superadmin."""
    async with unit_of_work(app.state.db, app.state.redis) as session:
        token = await owner_token(session, app.state.secrets, app.state.settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://demo") as http:
        r = await http.delete(f"/v1/teams/{team_id}", headers={"Authorization": f"Bearer {token}"})
    if r.status_code != 204:
        raise DemoError(f"deleting the demo team answered {r.status_code}: {r.text}")


class Output:
    """Where a run reports: a progress bar on a terminal, a line elsewhere."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()

    def print(self, *lines: str) -> None:
        for line in lines:
            print(line, file=self.stream)
        self.stream.flush()

    def progress(self, total: int) -> "Bar":
        return Bar(self, total)


class Bar:
    def __init__(self, out: Output, total: int) -> None:
        self.out = out
        self.total = total
        self._bar: Progress | None = None

    def __enter__(self) -> Callable[[int], None]:
        if not self.out.tty:
            self.out.print(f"Seeding the demo agency {TEAM_NAME!r}...")
            return lambda n: None
        self._bar = Progress(
            TextColumn("Seeding the demo agency"),
            BarColumn(),
            MofNCompleteColumn(),
            transient=True,
        )
        self._bar.start()
        task = self._bar.add_task("seed", total=self.total)
        bar = self._bar
        return lambda n: bar.advance(task, n)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


async def run_demo(
    settings: Settings, *, reset: bool = False, out: Output | None = None, note: str | None = None
) -> Seeded | None:
    """Make the demo team unless it exists (`reset`: delete it and make it anew); print
    the logins and, when it was made, a curl tour and `note`. The new team, if made."""
    out = out or Output()
    app = create_app(settings)
    home, api_url = settings.hourline_home, settings.api_url
    try:
        async with app.state.db.sessionmaker() as session:
            existing = await find_demo_team(session)
        if existing is not None and not reset:
            key = _saved_key(home, existing)
            out.print(
                f"The demo team {TEAM_NAME!r} exists (`hourline demo --reset` makes it anew).",
                *login_lines(api_url),
            )
            if key:
                out.print(f"  export API={api_url} TEAM={existing} KEY={key}")
            return None
        if existing is not None:
            await _delete_team(app, existing)
        async with unit_of_work(app.state.db, app.state.redis) as session:
            team = await create_demo_team(session, app.state.secrets)
            token = await owner_token(session, app.state.secrets, settings)
        calendar = Calendar.now()
        seeded = Seeded(team.team_id, team.users)
        try:
            with out.progress(STEPS + len(calendar.workdays)) as tick:
                await seed(app, token, seeded, calendar, tick)
        except BaseException:
            # Half a demo would pass for a whole one at the next run: none instead.
            await _delete_team(app, team.team_id)
            raise
        _save_key(home, team.team_id, seeded.api_key)
        out.print(
            f"Demo agency {TEAM_NAME!r}: {len(seeded.clients)} clients, {len(seeded.projects)}"
            f" projects, {seeded.entries} time entries, an invoice in every state.",
            *login_lines(api_url),
            f"Portal contact {seeded.portal_contact}: its login link is emailed"
            f" (see {home / 'mail'}).",
            *([note] if note else []),
            *tour_lines(api_url, team.team_id, seeded.api_key, seeded),
        )
        return seeded
    finally:
        await app.state.event_streams.stop()
        await app.state.redis.aclose()
        await app.state.db.dispose()
