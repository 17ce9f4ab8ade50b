"""A throwaway PostgreSQL cluster for the test session's PostgreSQL pass.

`SKRANKE_TEST_DB=postgresql` runs the backend tests on PostgreSQL instead of SQLite: the
first test that needs a database starts one cluster for the whole session (`initdb` and
`pg_ctl` from /usr/lib/postgresql/*/bin, as the `postgres` user when the tests run as root,
since PostgreSQL refuses to run as root), in a temporary folder, on a free loopback port;
it is stopped and its folder removed when the session ends, also when tests fail or the
session is killed (a watchdog process does it when the session's process is gone).

Every test gets a database of its own, copied from a migrated template (`CREATE DATABASE …
TEMPLATE`: about 20 ms, where migrating a fresh one took ten times that), dropped after the
test. A thread of its own copies and drops beside the tests: the next test's copy is made
while this one runs, and a test's databases are dropped while the next one runs (0.1-0.3 s
a test that no test waits for). The cluster runs with `fsync=off` and
`synchronous_commit=off` (nothing in the tests crashes PostgreSQL itself, only the server
processes in front of it); the crash tests' databases set `synchronous_commit=on` all the
same, so a commit they are told of is on disk as in production.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

ENV = "SKRANKE_TEST_DB"
#: True in the PostgreSQL pass (`SKRANKE_TEST_DB=postgresql`).
ENABLED = os.environ.get(ENV, "sqlite").lower() in ("postgresql", "postgres", "pg")
TEMPLATE = "skranke_template"
USER = "skranke"


def binaries() -> Path | None:
    """The newest PostgreSQL server's bin folder, or None where none is installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(Path(p).parent.parent.name)
                   if Path(p).parent.parent.name.isdigit() else 0)
    return Path(found[-1]).parent if found else None


MISSING = ("PostgreSQL pass skipped: no PostgreSQL server binaries (initdb, pg_ctl) under "
           "/usr/lib/postgresql/*/bin. Install Debian's `postgresql` package "
           "(.ci/run does) to run the backend tests on PostgreSQL too.")


class Cluster:
    """One running throwaway cluster; `database()` hands out fresh databases in it."""

    def __init__(self) -> None:
        bin_dir = binaries()
        if bin_dir is None:
            raise RuntimeError(MISSING)
        self.bin = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="skranke-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.as_root = os.name == "posix" and os.geteuid() == 0
        self.port = 0
        self._names = itertools.count()
        self.created: list[str] = []
        #: copies and drops, one at a time, beside the tests
        self._background = ThreadPoolExecutor(1, thread_name_prefix="skranke-pg")
        self._spare: Future[str] | None = None  # the next test's migrated copy
        if self.as_root:  # initdb refuses root: the cluster belongs to `postgres`
            shutil.chown(self.folder, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", USER, "--auth=trust", "-E", "UTF8",
                  "--no-locale", "--no-sync")
        self._start()
        self._watchdog = self._watch()
        self._template()

    # --- running the cluster's programs ------------------------------------------------
    def _run(self, program: str, *args: str) -> None:
        cmd = [str(self.bin / program), *args]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=self.folder)
        if p.returncode != 0:
            raise RuntimeError(f"{program} failed ({p.returncode}): {p.stderr or p.stdout}"
                               + self._log_tail())

    def _log_tail(self) -> str:
        try:
            return "\n" + self.log.read_text()[-2000:]
        except OSError:
            return ""

    def _start(self) -> None:
        from .helpers import free_port

        options = ["-h 127.0.0.1", f"-k {self.folder}", "-c fsync=off",
                   "-c synchronous_commit=off", "-c full_page_writes=off",
                   "-c max_connections=400", "-c shared_buffers=64MB"]
        for attempt in range(3):  # another program may take the free port meanwhile
            self.port = free_port()
            try:
                self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w",
                          "-t", "60", "-o", " ".join([f"-p {self.port}", *options]), "start")
                return
            except RuntimeError:
                if attempt == 2:
                    raise

    def _watch(self) -> subprocess.Popen:
        """A small process that stops the cluster and removes its folder when this one ends
        (it reads its stdin until it closes), however it ends: also when killed."""
        stop = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]
        if self.as_root:
            stop = ["runuser", "-u", "postgres", "--", *stop]
        code = ("import shutil, subprocess, sys; sys.stdin.read(); "
                f"subprocess.run({stop!r}, capture_output=True, timeout=60); "
                f"shutil.rmtree({str(self.folder)!r}, ignore_errors=True)")
        return subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                start_new_session=True)  # not in the tests' process group

    def stop(self) -> None:
        self._background.shutdown(wait=True, cancel_futures=True)
        self._watchdog.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._watchdog.wait(timeout=60)

    # --- databases ---------------------------------------------------------------------
    def url(self, name: str) -> str:
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{name}"

    def admin(self):
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user=USER,
                               dbname="postgres", autocommit=True)

    def _template(self) -> None:
        """A database with every migration applied, to copy for each test."""
        from backend.storage.db import Database

        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
        db = Database(self.url(TEMPLATE))
        try:
            db.migrate()
        finally:
            db.dispose()

    def database(self, *, migrated: bool = True, durable: bool = False) -> str:
        """A fresh database's URL: migrated (a copy of the template) or empty. `durable`:
        its commits wait for the disk (the crash tests)."""
        if migrated and not durable:
            spare, self._spare = self._spare, None
            name = spare.result() if spare is not None else self._copy(TEMPLATE)
            self._spare = self._background.submit(self._copy, TEMPLATE)  # the next one
        else:
            name = self._copy(TEMPLATE if migrated else "template0")
            if durable:
                with self.admin() as conn:
                    conn.execute(f"ALTER DATABASE {name} SET synchronous_commit = on")
        self.created.append(name)
        return self.url(name)

    def _copy(self, template: str) -> str:
        name = f"t{os.getpid()}_{next(self._names)}"
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
        return name

    def drop_created(self) -> None:
        """Drop the databases handed out since the last call (a test's, at its end), beside
        the next test."""
        names, self.created = self.created, []
        if names:
            self._background.submit(self._drop, names)

    def _drop(self, names: list[str]) -> None:
        with self.admin() as conn:
            for name in names:
                for _ in range(50):
                    try:
                        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                        break
                    except Exception:  # noqa: BLE001 - a connection still closing
                        time.sleep(0.1)


_cluster: Cluster | None = None


def cluster() -> Cluster:
    """The session's cluster, started on first use."""
    global _cluster
    if _cluster is None:
        _cluster = Cluster()
        atexit.register(stop)
    return _cluster


def started() -> Cluster | None:
    return _cluster


def stop() -> None:
    global _cluster
    if _cluster is not None:
        _cluster, c = None, _cluster
        c.stop()
