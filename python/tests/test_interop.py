"""Python meets C programs and Qt programs on the same string key, in both
directions: each side creates, each side waits and is woken by the other.

The C program is libsyssem's `syssem` tool ($SYSSEM_TOOL, else `syssem` on
PATH). The Qt program is qt_peer.py, a PyQt6 QSystemSemaphore; Qt uses
System V for string keys on Unix, so those tests run on System V.
"""

import os
import pathlib
import shutil
import subprocess
import sys
import threading

import pytest

import syssem
from conftest import PATIENCE, SYSV, exists, wait_until_blocked

HERE = pathlib.Path(__file__).resolve().parent


def find_tool():
    tool = os.environ.get("SYSSEM_TOOL") or shutil.which("syssem")
    if not tool or not os.access(tool, os.X_OK):
        pytest.skip("the syssem tool (a C program using libsyssem) was not "
                    "found: build it (meson, tools/) and set SYSSEM_TOOL")
    return tool


@pytest.fixture
def tool(backend):
    path = find_tool()

    def run(*args, check=True):
        cmd = args[0]
        p = subprocess.run([path, cmd, "--backend", str(backend), *args[1:]],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=PATIENCE)
        if check and p.returncode != 0:
            pytest.fail(f"syssem {' '.join(args)}: status {p.returncode}: "
                        f"{p.stderr.strip()}")
        return p

    run.path = path
    return run


def test_c_creates_python_attaches(key, backend, tool):
    tool("create", "-n", "2", key)
    sem = syssem.Semaphore(key, 9, syssem.OPEN_EXISTING, backend=backend)
    assert not sem.created and sem.value == 2
    info = tool("info", key).stdout
    assert f"native:  {sem.native_key}\n" in info
    assert sem.acquire(0)
    assert tool("value", key).stdout == "1\n"
    sem.release()
    assert tool("value", key).stdout == "2\n"
    sem.close()                       # not the owner: the semaphore stays
    assert tool("value", key).stdout == "2\n"
    tool("rm", key)
    assert not exists(key, backend)


def test_python_creates_c_attaches(key, backend, tool):
    sem = syssem.Semaphore(key, 3, backend=backend)
    assert tool("value", key).stdout == "3\n"
    tool("acquire", "--timeout", "0", key)
    assert sem.value == 2
    tool("release", key, "2")
    assert sem.value == 4
    sem.close()                       # the owner removes it
    assert tool("value", key, check=False).returncode == 1


def test_c_waits_for_python(key, backend, tool, child):
    sem = syssem.Semaphore(key, 0, backend=backend)
    c = child(None, tool.path, "acquire", "--backend", backend,
              "--timeout", int(PATIENCE * 1000), key)
    wait_until_blocked(c.pid, what="syssem acquire")
    sem.release()
    assert c.wait()[0] == 0
    assert sem.value == 0             # the C program took the token
    sem.close()


def test_python_waits_for_c(key, backend, tool, child):
    sem = syssem.Semaphore(key, 0, backend=backend)
    # The waiting Python is a main thread (waits in slices, for Ctrl-C) ...
    c = child("""
        import sys, syssem
        sem = syssem.Semaphore(sys.argv[1], 0, syssem.OPEN_EXISTING,
                               backend=sys.argv[2])
        print("acquired", sem.acquire(), flush=True)
    """, key, backend)
    wait_until_blocked(c.pid, what="the Python acquire()")
    tool("release", key)
    c.expect("acquired True")
    assert c.wait()[0] == 0
    # System V gives back what a process held when it ended; POSIX does not.
    assert sem.value == (1 if backend == SYSV else 0)
    sem.acquire(0)
    # ... and another thread (waits in one call).
    got = []
    t = threading.Thread(target=lambda: got.append(sem.acquire(PATIENCE)))
    t.start()
    wait_until_blocked(os.getpid(), t.native_id, "the Python thread")
    tool("release", key)
    t.join(PATIENCE)
    assert got == [True]
    sem.close()


# --- Qt ------------------------------------------------------------------

def qt_available():
    try:
        from PyQt6.QtCore import QSystemSemaphore  # noqa: F401
    except ImportError as e:
        return f"PyQt6 is not installed ({e}); Debian: apt install python3-pyqt6"
    return None


@pytest.fixture
def qt(child):
    why = qt_available()
    if why:
        pytest.skip(f"Qt interop not tested: {why}")

    def start(key, initial, mode):
        peer = child(None, sys.executable, HERE / "qt_peer.py", key, initial,
                     mode)
        peer.expect("ready")
        return peer

    return start


def test_qt_waits_for_python(keys, qt):
    key = keys()
    sem = syssem.Semaphore(key, 0, backend=SYSV)
    peer = qt(key, 0, "open")
    peer.say("acquire")
    peer.expect("acquiring")
    wait_until_blocked(peer.pid, what="QSystemSemaphore::acquire")
    sem.release()
    peer.expect("ok")
    assert sem.value == 0
    peer.say("release 3")
    peer.expect("ok")
    assert sem.value == 3
    peer.say("quit")
    assert peer.wait()[0] == 0
    # Qt did not own it: it stays. Qt too takes and gives with SEM_UNDO, so
    # its exit undoes its acquire and its releases: 3 - 3 + 1.
    assert sem.value == 1
    sem.close()
    assert not exists(key, SYSV)


def test_python_waits_for_qt(keys, qt):
    key = keys()
    peer = qt(key, 0, "create")       # Qt creates and owns it
    sem = syssem.Semaphore(key, 5, syssem.OPEN_EXISTING, backend=SYSV)
    assert not sem.created and sem.value == 0
    got = []
    t = threading.Thread(target=lambda: got.append(sem.acquire(PATIENCE)))
    t.start()
    wait_until_blocked(os.getpid(), t.native_id, "the Python thread")
    peer.say("release 1")
    peer.expect("ok")
    t.join(PATIENCE)
    assert got == [True]
    sem.release(2)
    peer.say("acquire")
    peer.expect("acquiring")
    peer.expect("ok")
    assert sem.value == 1
    sem.close()
    peer.say("quit")
    assert peer.wait()[0] == 0
    assert not exists(key, SYSV)      # the Qt owner removed it


def test_qt_create_resets_a_python_semaphore(keys, qt):
    key = keys()
    sem = syssem.Semaphore(key, 1, backend=SYSV)
    peer = qt(key, 4, "create")       # Qt's Create sets the count
    assert sem.value == 4
    peer.say("quit")
    assert peer.wait()[0] == 0
    sem.close()
