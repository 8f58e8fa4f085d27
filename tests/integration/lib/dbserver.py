"""dbserver.py — Debian's MariaDB and PostgreSQL as private servers for tests:
each in a temp dir of its own, on a loopback port and a Unix socket in that
dir, stopped by PID (TESTING.md has the recipes).

    db = MariaDB("/tmp/x/maria")      # or PostgreSQL(...)
    db.start()
    db.create_database("parley")       # also a user parley/parley-test with all rights on it
    db.sql("parley", "SELECT 1")       # through the command-line client; returns stdout
    db.restart()                       # stop and start again, same data and port
    db.stop()

Also a command line, for C test programs (tests/storage/store_mysql.c and
store_pgsql.c) that want a server for their run:

    dbserver.py start mysql|pgsql DIR   prints "port PORT socket SOCKET pid PID"
    dbserver.py stop mysql|pgsql DIR
    (start on a DIR stopped before restarts that server: same data, same port)

Both servers accept the user `parley` with the password `parley-test` over
TCP (127.0.0.1) and the Unix socket.
"""
import atexit
import os
import shutil
import signal
import subprocess
import sys
import time

from parley import free_port

USER = "parley"
PASSWORD = "parley-test"
PG_BIN = "/usr/lib/postgresql/15/bin"


def _wait(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


class MariaDB:
    def _stop_at_exit(self):
        try:
            self.stop(timeout=20)
        except Exception:  # noqa: BLE001 — best effort at exit
            pass

    kind = "mysql"

    def __init__(self, dir, port=None):
        self.dir = os.path.abspath(dir)
        self.port = port or free_port()
        self.socket = os.path.join(self.dir, "sock")
        self.proc = None
        self.pid = None

    def _client(self, *args, db=None, user="root", password=None):
        cmd = ["mariadb", "--no-defaults", "-S", self.socket, "-u", user, "-N", "-B"]
        if password is not None:
            cmd.append("-p" + password)
        if db:
            cmd += ["-D", db]
        return cmd + list(args)

    def start(self, timeout=60):
        data = os.path.join(self.dir, "data")
        os.makedirs(self.dir, exist_ok=True)
        if not os.path.isdir(data):
            r = subprocess.run(["mariadb-install-db", "--no-defaults", "--datadir=" + data,
                                "--user=root", "--auth-root-authentication-method=normal",
                                "--skip-test-db"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if r.returncode != 0:
                raise RuntimeError("mariadb-install-db failed:\n" + r.stdout)
        log = open(os.path.join(self.dir, "mariadb.log"), "a")
        self.proc = subprocess.Popen(
            ["mariadbd", "--no-defaults", "--datadir=" + data, "--socket=" + self.socket,
             "--port=%d" % self.port, "--bind-address=127.0.0.1", "--user=root",
             "--pid-file=" + os.path.join(self.dir, "mariadb.pid"),
             "--skip-name-resolve", "--innodb-buffer-pool-size=32M",
             "--innodb-log-file-size=16M", "--performance-schema=OFF"],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.pid = self.proc.pid
        # A test that dies half-way must not leave its server running.
        atexit.register(self._stop_at_exit)

        def ready():
            if self.proc.poll() is not None:
                return True
            return subprocess.run(self._client("-e", "SELECT 1"), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL).returncode == 0
        if not _wait(ready, timeout) or self.proc.poll() is not None:
            raise RuntimeError("mariadbd did not start: " + self.log())
        self.root_sql("CREATE USER IF NOT EXISTS '%s'@'localhost' IDENTIFIED BY '%s';"
                      "CREATE USER IF NOT EXISTS '%s'@'127.0.0.1' IDENTIFIED BY '%s';"
                      % (USER, PASSWORD, USER, PASSWORD))
        return self

    def log(self):
        try:
            with open(os.path.join(self.dir, "mariadb.log"), errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def root_sql(self, text, db=None):
        r = subprocess.run(self._client("-e", text, db=db), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise RuntimeError("mariadb: %s: %s" % (text, r.stderr))
        return r.stdout

    def create_database(self, name):
        self.root_sql("DROP DATABASE IF EXISTS `%s`; CREATE DATABASE `%s` CHARACTER SET utf8mb4 "
                      "COLLATE utf8mb4_bin;"
                      "GRANT ALL ON `%s`.* TO '%s'@'localhost';"
                      "GRANT ALL ON `%s`.* TO '%s'@'127.0.0.1';"
                      % (name, name, name, USER, name, USER))

    def sql(self, db, text):
        return self.root_sql(text, db=db)

    def stop(self, timeout=60):
        if self.pid is None:
            return
        if _pid_alive(self.pid):
            os.kill(self.pid, signal.SIGTERM)
        if self.proc is not None:
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait()
        else:
            if not _wait(lambda: not _pid_alive(self.pid), timeout):
                os.kill(self.pid, signal.SIGKILL)
        self.pid = None
        self.proc = None

    def kill(self):
        """SIGKILL: a crash, not a shutdown."""
        if self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)
            if self.proc is not None:
                self.proc.wait()
            self.pid = None
            self.proc = None

    def restart(self):
        self.stop()
        self.start()


class PostgreSQL:
    def _stop_at_exit(self):
        try:
            self.stop(timeout=20)
        except Exception:  # noqa: BLE001 — best effort at exit
            pass

    kind = "pgsql"

    def __init__(self, dir, port=None):
        self.dir = os.path.abspath(dir)
        self.port = port or free_port()
        self.socket = self.dir      # libpq takes the socket's directory
        self.data = os.path.join(self.dir, "pg")
        self.pid = None

    def _as_postgres(self, *cmd, **kw):
        return subprocess.run(["runuser", "-u", "postgres", "--"] + list(cmd),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)

    def start(self, timeout=60):
        os.makedirs(self.dir, exist_ok=True)
        shutil.chown(self.dir, "postgres")
        os.chmod(self.dir, 0o755)
        parent = os.path.dirname(self.dir)
        while parent not in ("/", ""):
            st = os.stat(parent)
            if not st.st_mode & 0o001:
                os.chmod(parent, st.st_mode | 0o011)
            parent = os.path.dirname(parent)
        if not os.path.isdir(self.data):
            pwfile = os.path.join(self.dir, "pwfile")
            with open(pwfile, "w") as f:
                f.write(PASSWORD + "\n")
            shutil.chown(pwfile, "postgres")
            r = self._as_postgres(PG_BIN + "/initdb", "-D", self.data, "-A", "scram-sha-256",
                                  "--auth-local=trust", "-U", USER, "--pwfile", pwfile,
                                  "-E", "UTF8", "--locale=C")
            if r.returncode != 0:
                raise RuntimeError("initdb failed:\n" + r.stdout)
        r = self._as_postgres(PG_BIN + "/pg_ctl", "-D", self.data, "-w", "-t", str(timeout),
                              "-o", "-k %s -h 127.0.0.1 -p %d -c fsync=off "
                              "-c full_page_writes=off -c shared_buffers=16MB"
                              % (self.dir, self.port),
                              "-l", os.path.join(self.dir, "pg.log"), "start")
        if r.returncode != 0:
            raise RuntimeError("pg_ctl start failed:\n" + r.stdout + self.log())
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            self.pid = int(f.readline())
        atexit.register(self._stop_at_exit)
        return self

    def log(self):
        try:
            with open(os.path.join(self.dir, "pg.log"), errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def sql(self, db, text):
        r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            "-h", self.dir, "-p", str(self.port), "-U", USER, "-d", db,
                            "-c", text], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        if r.returncode != 0:
            raise RuntimeError("psql: %s: %s" % (text, r.stderr))
        return r.stdout

    def root_sql(self, text, db="postgres"):
        return self.sql(db, text)

    def create_database(self, name):
        self.sql("postgres", 'DROP DATABASE IF EXISTS "%s"' % name)
        self.sql("postgres", 'CREATE DATABASE "%s" OWNER %s' % (name, USER))

    def stop(self, timeout=60):
        if self.pid is None:
            return
        r = self._as_postgres(PG_BIN + "/pg_ctl", "-D", self.data, "-w", "-t", str(timeout),
                              "-m", "fast", "stop")
        if r.returncode != 0 and _pid_alive(self.pid):
            os.kill(self.pid, signal.SIGKILL)
        _wait(lambda: not _pid_alive(self.pid), timeout)
        self.pid = None

    def kill(self):
        """SIGKILL of the postmaster (its backends exit when they notice)."""
        if self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)
            _wait(lambda: not _pid_alive(self.pid), 10)
            # The backends go when they see the postmaster gone; the next
            # start must not find them holding the shared memory.
            pidfile = os.path.join(self.data, "postmaster.pid")
            _wait(lambda: subprocess.run(["pgrep", "-f", "postgres: .*%d" % self.port],
                                         stdout=subprocess.DEVNULL).returncode != 0, 10)
            if os.path.exists(pidfile):
                os.unlink(pidfile)
            self.pid = None

    def restart(self):
        self.stop()
        self.start()


def server(kind, dir, port=None):
    return {"mysql": MariaDB, "pgsql": PostgreSQL}[kind](dir, port)


def main(argv):
    if len(argv) != 4 or argv[1] not in ("start", "stop") or argv[2] not in ("mysql", "pgsql"):
        sys.stderr.write("usage: dbserver.py start|stop mysql|pgsql DIR\n")
        return 2
    cmd, kind, dir = argv[1:]
    state = os.path.join(dir, "dbserver.state")
    if cmd == "start":
        # Started before in DIR (and stopped since): the same data on the
        # same port, so a client's settings still reach it (restart tests).
        port = None
        try:
            with open(state) as f:
                port = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
        db = server(kind, dir, port)
        db.start()
        # The C programs' fixture detaches from us: a Popen'd mariadbd
        # must outlive this script.
        with open(state, "w") as f:
            f.write("%d %d\n" % (db.port, db.pid))
        print("port %d socket %s pid %d" % (db.port, db.socket, db.pid))
        sys.stdout.flush()
        os._exit(0)
    try:
        with open(state) as f:
            port, pid = (int(x) for x in f.read().split())
    except OSError:
        return 0
    db = server(kind, dir, port)
    db.pid = pid
    db.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
