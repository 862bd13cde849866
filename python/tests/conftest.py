"""Fixtures and helpers of the syssem tests.

The tests run against the installed package (pip install ./python), never
against this source tree: see pytest_configure. Every test gets keys of its
own, and every key is checked at the end of its test: no semaphore and no
key file may be left behind, on any backend.
"""

import os
import pathlib
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import pytest

import syssem

# SIGINT as a terminal delivers it. A run started in the background has it
# ignored, and an ignored signal stays ignored across exec: the children of
# the Ctrl-C tests would never raise KeyboardInterrupt. A handled one is
# reset to the default by exec, and Python installs its own.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

SOURCE = pathlib.Path(__file__).resolve().parents[1]
TOP = SOURCE.parent
BACKENDS = syssem.available_backends()
SYSV = syssem.Backend.SYSV
POSIX = syssem.Backend.POSIX

# How long a test waits for something that takes milliseconds, before it
# calls the thing broken. Never a synchronisation: only a bound.
PATIENCE = 30.0


def pytest_configure(config):
    where = pathlib.Path(syssem.__file__).resolve()
    if SOURCE in where.parents:
        raise pytest.UsageError(
            f"syssem was imported from the source tree ({where}), not from "
            "an installed package: pip install ./python, then run the tests "
            "from another directory")


def pytest_report_header(config):
    return (f"syssem {syssem.__version__} from "
            f"{pathlib.Path(syssem.__file__).parent}, backends "
            f"{', '.join(map(str, BACKENDS))}, uid {os.getuid()}")


@pytest.fixture(params=BACKENDS, ids=str)
def backend(request):
    """Each backend built into the library, in turn."""
    return request.param


def exists(key, backend, keyform=None):
    """Whether the semaphore named key exists; opens nothing new."""
    try:
        sem = syssem.Semaphore(key, 0, syssem.OPEN_EXISTING, backend=backend,
                               keyform=keyform)
    except syssem.NotFoundError:
        return False
    sem.close()
    return True


def leftovers(key):
    """What exists of key on any backend: semaphores and key files."""
    found = []
    for b in BACKENDS:
        if exists(key, b):
            found.append(f"{b} semaphore")
        if b == SYSV and os.path.exists(syssem.native_name(key, backend=b)):
            found.append(f"{b} key file")
    return found


def clean(key):
    for b in BACKENDS:
        syssem.remove(key, backend=b, missing_ok=True)
        if b == SYSV:
            try:
                os.unlink(syssem.native_name(key, backend=b))
            except FileNotFoundError:
                pass


# Every key starts with the run's prefix (scripts/test.sh sets it, letters
# only, so that it starts the legacy names too): the run's closing check
# finds whatever a test left behind.
PREFIX = os.environ.get("SYSSEM_TEST_PREFIX") or "syssempy"


class Keys:
    """Fresh keys for one test; all checked, then cleaned, at its end."""

    def __init__(self, name):
        self.stem = (f"{PREFIX}-py-{name[:24]}-{os.getpid()}-"
                     f"{uuid.uuid4().hex[:8]}")
        self.made = []

    def __call__(self, tag=""):
        key = self.stem + (f"-{tag}" if tag else "")
        self.made.append(key)
        return key


@pytest.fixture
def keys(request):
    """keys() gives a new key; at the end of the test none may be left."""
    k = Keys(request.node.name.replace("[", "-").rstrip("]"))
    yield k
    left = {key: leftovers(key) for key in k.made}
    for key in k.made:
        clean(key)
    left = {key: what for key, what in left.items() if what}
    assert not left, f"left behind: {left}"


@pytest.fixture
def key(keys):
    return keys()


def blocked(pid, tid):
    """Whether thread tid of process pid sleeps in a semaphore wait: System
    V's semtimedop, or a futex wait on a POSIX semaphore (an address in a
    /dev/shm mapping; a thread waiting for the GIL waits on the heap)."""
    task = f"/proc/{pid}/task/{tid}"
    try:
        with open(f"{task}/wchan") as f:
            wchan = f.read()
        if "semtimedop" in wchan:
            return True
        if "futex" not in wchan:
            return False
        with open(f"{task}/syscall") as f:
            fields = f.read().split()
        with open(f"/proc/{pid}/maps") as f:
            maps = f.readlines()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    if len(fields) < 2 or not fields[1].startswith("0x"):
        return False
    addr = int(fields[1], 16)
    for line in maps:
        parts = line.split(maxsplit=5)
        if len(parts) == 6 and parts[5].startswith("/dev/shm/"):
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if lo <= addr < hi:
                return True
    return False


def wait_until_blocked(pid, tid=None, what="the waiter"):
    """Wait until thread tid (default: the main thread) of pid sleeps in a
    semaphore wait, so that what the test does next reaches a waiter."""
    tid = pid if tid is None else tid
    end = time.monotonic() + PATIENCE
    while not blocked(pid, tid):
        if time.monotonic() > end:
            pytest.fail(f"{what} (pid {pid}, thread {tid}) never blocked in "
                        "a semaphore wait")
        time.sleep(0.001)


class Child:
    """A process spoken to by lines: say() writes one to its stdin, hear()
    reads one from its stdout (waiting at most PATIENCE seconds)."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(
            [str(a) for a in argv], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, bufsize=1, cwd="/")
        self.pid = self.proc.pid
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def say(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def hear(self):
        try:
            line = self.lines.get(timeout=PATIENCE)
        except queue.Empty:
            pytest.fail(f"child {self.pid} said nothing for {PATIENCE} s")
        if line is None:
            self.proc.wait(PATIENCE)
            pytest.fail(f"child {self.pid} ended (status "
                        f"{self.proc.returncode}) without a word")
        return line

    def expect(self, want):
        got = self.hear()
        assert got == want, f"child said {got!r}, expected {want!r}"

    def wait(self):
        """Close its stdin; its status and what it said until it ended."""
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        status = self.proc.wait(PATIENCE)
        rest = []
        while (line := self.lines.get(timeout=PATIENCE)) is not None:
            rest.append(line)
        return status, rest

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(PATIENCE)
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass


@pytest.fixture
def child():
    """child(script, *args) starts a Child running the Python code script
    with sys.argv[1:] args; child(None, *argv) runs argv. All are killed at
    the end of the test."""
    made = []

    def start(script, *args):
        if script is not None:
            args = (sys.executable, "-c", textwrap.dedent(script)) + args
        c = Child(args)
        made.append(c)
        return c

    yield start
    for c in made:
        c.kill()
