"""Waiting: timeouts, threads, the GIL, signals and Ctrl-C, processes,
crashes. Every count of holders is kept by a ledger of its own, never read
from the semaphore under test."""

import multiprocessing
import os
import signal
import threading
import time

import pytest

import syssem
from conftest import PATIENCE, SYSV, wait_until_blocked


def test_acquire_returns_like_threading(key, backend):
    sem = syssem.Semaphore(key, 2, backend=backend)
    assert sem.acquire() is True
    assert sem.acquire(timeout=0) is True
    assert sem.acquire(0) is False
    assert sem.acquire(timeout=0.0) is False
    sem.release(2)
    assert sem.value == 2
    sem.close()


@pytest.mark.parametrize("timeout", [0.001, 0.05, 0.2])
def test_timeout_is_never_cut_short(key, backend, timeout):
    sem = syssem.Semaphore(key, 0, backend=backend)
    t0 = time.monotonic()
    assert sem.acquire(timeout) is False
    assert time.monotonic() - t0 >= timeout
    sem.close()


def test_timeout_in_a_thread(key, backend):
    # Threads other than the main one wait in one call, not in slices.
    sem = syssem.Semaphore(key, 0, backend=backend)
    result = []

    def wait():
        t0 = time.monotonic()
        result.append(sem.acquire(0.2))
        result.append(time.monotonic() - t0)

    t = threading.Thread(target=wait)
    t.start()
    t.join(PATIENCE)
    assert result[0] is False and result[1] >= 0.2
    sem.close()


def test_huge_and_infinite_timeouts_wait(key, backend):
    sem = syssem.Semaphore(key, 0, backend=backend)
    for timeout in (float("inf"), 1e300, 2**80):
        result = []
        t = threading.Thread(target=lambda: result.append(sem.acquire(timeout)))
        t.start()
        wait_until_blocked(os.getpid(), t.native_id)
        sem.release()
        t.join(PATIENCE)
        assert result == [True]
    sem.close()


def test_thread_waits_without_the_gil(key, backend, child):
    # In a child, so that a wait that kept the GIL hangs only the child: the
    # main thread must go on running Python code while a thread waits.
    c = child("""
        import sys, threading, time, syssem
        sem = syssem.Semaphore(sys.argv[1], 0, syssem.OPEN_EXISTING,
                               backend=sys.argv[2])
        got = []
        t = threading.Thread(target=lambda: got.append(sem.acquire()))
        t.start()
        print("thread", t.native_id, flush=True)
        spins = 0
        while not got:                    # Python code, needing the GIL
            spins += 1
            if spins % 1000 == 0:
                print("spinning", flush=True)
                sys.stdin.readline()
        t.join()
        print("done", got[0], flush=True)
    """, key, backend)
    sem = syssem.Semaphore(key, 0, backend=backend)
    tid = int(c.hear().split()[1])
    wait_until_blocked(c.pid, tid, "the waiting thread")
    assert c.hear() == "spinning"         # the main thread runs meanwhile
    sem.release()
    c.say("")
    while (line := c.hear()) == "spinning":
        c.say("")
    assert line == "done True"
    assert sem.value == 0
    sem.close()


def test_threads_under_a_count_of_two(key, backend):
    sem = syssem.Semaphore(key, 2, backend=backend)
    ledger = threading.Lock()
    holders = [0]
    most = [0]
    rounds = []

    start = threading.Barrier(8)

    def work():
        start.wait()
        for _ in range(25):
            with sem:
                with ledger:
                    holders[0] += 1
                    most[0] = max(most[0], holders[0])
                time.sleep(0.0005)        # hold a while: make overlaps likely
                with ledger:
                    holders[0] -= 1
                rounds.append(1)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(PATIENCE)
    assert len(rounds) == 8 * 25
    assert most[0] == 2, f"at most {most[0]} holders at once, the count is 2"
    assert sem.value == 2
    sem.close()


# --- processes -----------------------------------------------------------

def ledger_worker(sem, path, rounds, start):
    # One line per event, appended with one write(2) (O_APPEND is atomic):
    # "+" after taking a token, "-" before giving it back.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    start.wait()                      # all workers contend from here on
    for _ in range(rounds):
        with sem:
            os.write(fd, b"+%d\n" % os.getpid())
            time.sleep(0.001)
            os.write(fd, b"-%d\n" % os.getpid())
    os.close(fd)


def holders_at_most(path):
    most = now = 0
    with open(path) as f:
        events = f.read().split()
    for e in events:
        now += 1 if e[0] == "+" else -1
        most = max(most, now)
    return most, len(events)


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_processes_under_a_count_of_two(key, backend, tmp_path, start):
    # spawn pickles the semaphore: each worker opens the same one by key.
    ctx = multiprocessing.get_context(start)
    path = tmp_path / "ledger"
    path.touch()
    sem = syssem.Semaphore(key, 2, syssem.CREATE_NEW, backend=backend)
    workers, rounds = 6, 15
    start = ctx.Barrier(workers)
    procs = [ctx.Process(target=ledger_worker,
                         args=(sem, path, rounds, start))
             for _ in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(PATIENCE)
    assert [p.exitcode for p in procs] == [0] * workers
    most, events = holders_at_most(path)
    assert events == 2 * workers * rounds
    assert most == 2, f"{most} holders at once under a count of 2"
    assert sem.value == 2
    sem.close()


def test_pickled_semaphore_attaches(key, backend):
    import pickle
    sem = syssem.Semaphore(key, 3, backend=backend, no_undo=True)
    other = pickle.loads(pickle.dumps(sem))
    assert other.key == key and other.backend == backend
    assert other.native_key == sem.native_key
    assert not other.created
    assert other.acquire(0) and sem.value == 2
    other.release()
    other.close()                     # it owns nothing
    assert sem.value == 3
    sem.close()
    with pytest.raises(syssem.NotFoundError):
        pickle.loads(pickle.dumps(syssem.Semaphore(key, 1, backend=backend)))


@pytest.mark.parametrize("no_undo", [False, True], ids=["undo", "no_undo"])
def test_killed_holder(key, child, no_undo):
    # System V takes the token back from a process killed while holding it;
    # without undo (and on POSIX) it stays taken.
    sem = syssem.Semaphore(key, 1, backend=SYSV)
    c = child("""
        import sys, syssem
        sem = syssem.Semaphore(sys.argv[1], 0, syssem.OPEN_EXISTING,
                               backend="sysv", no_undo=sys.argv[2] == "True")
        print("held" if sem.acquire() else "none", flush=True)
        sys.stdin.readline()
    """, key, no_undo)
    c.expect("held")
    assert sem.value == 0
    os.kill(c.pid, signal.SIGKILL)
    assert c.proc.wait(PATIENCE) == -signal.SIGKILL
    if no_undo:
        assert sem.value == 0
    else:
        assert sem.value == 1
        assert sem.acquire(0)
    sem.close()


# --- signals -----------------------------------------------------------------

INTERRUPTED = """
    import os, sys, syssem
    sem = syssem.Semaphore(sys.argv[1], 0, syssem.OPEN_EXISTING,
                           backend=sys.argv[2])
    timeout = None if sys.argv[3] == "None" else float(sys.argv[3])
    print("ready", flush=True)
    try:
        got = sem.acquire(timeout)  # THE WAIT
        print("acquired", got, flush=True)
    except KeyboardInterrupt as e:
        print("interrupted at line", e.__traceback__.tb_lineno, flush=True)
    sys.stdin.readline()
    print("value", sem.value, flush=True)
    print("again", sem.acquire(0), flush=True)
    sys.stdin.readline()
"""


def line_of(script, marker):
    lines = __import__("textwrap").dedent(script).splitlines()
    return 1 + next(i for i, line in enumerate(lines) if marker in line)


@pytest.mark.parametrize("timeout", [None, 600.0], ids=["blocking", "timed"])
def test_ctrl_c_interrupts_a_blocking_acquire(key, backend, child, timeout):
    sem = syssem.Semaphore(key, 0, backend=backend)
    c = child(INTERRUPTED, key, backend, timeout)
    c.expect("ready")
    wait_until_blocked(c.pid, what="the child's acquire()")
    os.kill(c.pid, signal.SIGINT)
    c.expect(f"interrupted at line {line_of(INTERRUPTED, 'THE WAIT')}")
    # The interrupted wait took nothing and waits no more: a token given
    # now stays until the child takes it.
    assert sem.value == 0
    sem.release()
    c.say("")
    c.expect("value 1")
    c.expect("again True")
    assert sem.value == 0
    status, _ = c.wait()
    assert status == 0
    sem.close()


def test_signal_handlers_run_while_waiting(key, backend, child):
    # A handler that does not raise runs during the wait, which goes on.
    c = child("""
        import signal, sys, syssem
        sem = syssem.Semaphore(sys.argv[1], 0, syssem.OPEN_EXISTING,
                               backend=sys.argv[2])
        signal.signal(signal.SIGUSR1,
                      lambda *_: print("handled", flush=True))
        print("ready", flush=True)
        print("acquired", sem.acquire(), flush=True)
    """, key, backend)
    sem = syssem.Semaphore(key, 0, backend=backend)
    c.expect("ready")
    wait_until_blocked(c.pid, what="the child's acquire()")
    os.kill(c.pid, signal.SIGUSR1)
    c.expect("handled")
    wait_until_blocked(c.pid, what="the child's acquire() after the handler")
    sem.release()
    c.expect("acquired True")
    assert c.wait()[0] == 0
    sem.close()


def test_close_while_a_thread_waits(key, backend):
    sem = syssem.Semaphore(key, 0, backend=backend)
    result = []
    t = threading.Thread(target=lambda: result.append(sem.acquire()))
    t.start()
    wait_until_blocked(os.getpid(), t.native_id)
    with pytest.raises(RuntimeError, match="still run"):
        sem.close()
    assert not sem.closed
    sem.release()
    t.join(PATIENCE)
    assert result == [True]
    sem.close()
    assert sem.closed
