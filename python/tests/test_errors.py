"""Exceptions: the hierarchy, real failures, and bad arguments, which fail
before anything is created."""

import os
import pickle
import subprocess
import sys

import pytest

import syssem
from conftest import BACKENDS, SYSV, exists, leftovers

BUILTIN = {
    syssem.Code.EPERM: PermissionError,
    syssem.Code.EKEY: ValueError,
    syssem.Code.EEXIST: FileExistsError,
    syssem.Code.ENOENT: FileNotFoundError,
    syssem.Code.ENOSPC: OSError,
    syssem.Code.EUNKNOWN: OSError,
    syssem.Code.EINVAL: ValueError,
    syssem.Code.ETIMEDOUT: TimeoutError,
    syssem.Code.EOVERFLOW: OverflowError,
    syssem.Code.ENOSYS: OSError,
    syssem.Code.ENOMEM: MemoryError,
    syssem.Code.ELOST: OSError,
    syssem.Code.EUNAVAIL: ConnectionError,
}


def test_python_knows_what_the_library_knows():
    codes, backends = syssem._syssem._library_names()
    assert sorted(codes) == sorted(c.value for c in syssem.Code
                                   if c != syssem.Code.OK)
    assert backends == {b.value: str(b) for b in syssem.Backend}


def test_every_code_has_its_exception():
    from syssem._types import ERRORS
    codes = [c for c in syssem.Code if c != syssem.Code.OK]
    assert sorted(ERRORS) == sorted(codes)
    names = {cls.__name__ for cls in ERRORS.values()}
    assert len(names) == len(codes)
    for code, cls in ERRORS.items():
        assert issubclass(cls, syssem.Error)
        assert issubclass(cls, BUILTIN[code]), cls
        assert getattr(syssem, cls.__name__) is cls
        assert cls.__module__ == "syssem"
        e = cls("syssem_x: y", code)
        assert e.code == code and e.message == "syssem_x: y"
        assert str(e) == "syssem_x: y"
        back = pickle.loads(pickle.dumps(e))
        assert type(back) is cls and back.code == code
        assert back.message == e.message


def test_error_carries_code_and_message(key, backend):
    sem = syssem.Semaphore(key, 1, backend=backend)
    with pytest.raises(syssem.Error) as info:
        syssem.Semaphore(key, 1, syssem.CREATE_NEW, backend=backend)
    assert type(info.value) is syssem.AlreadyExistsError
    assert info.value.code == syssem.Code.EEXIST
    assert info.value.message.startswith("syssem_open: ")
    assert "File exists" in info.value.message
    sem.close()


def test_release_overflow(key, backend):
    big = 32767 if backend == SYSV else 2**31 - 1
    sem = syssem.Semaphore(key, 5, backend=backend)
    with pytest.raises(syssem.CountOverflowError) as info:
        sem.release(big)
    assert isinstance(info.value, OverflowError)
    assert info.value.code == syssem.Code.EOVERFLOW
    assert sem.value == 5             # all or nothing
    with pytest.raises(OverflowError):
        sem.release(2**31)            # more than any backend holds
    assert sem.value == 5
    sem.close()


def test_backend_not_built(key):
    with pytest.raises(syssem.NotAvailableError) as info:
        syssem.Semaphore(key, 1, backend=syssem.Backend.WIN32)
    assert info.value.code == syssem.Code.ENOSYS
    assert isinstance(info.value, OSError)


def test_etcd_is_not_built_in(key):
    for args in [dict(key="etcd://127.0.0.1:2379/" + key),
                 dict(key=key, backend="etcd")]:
        with pytest.raises(syssem.NotAvailableError) as info:
            syssem.Semaphore(initial=1, **args)
        assert info.value.code == syssem.Code.ENOSYS
    assert syssem.Backend.ETCD not in syssem.available_backends()


def test_lost_fd_of_a_local_backend(key, backend):
    sem = syssem.Semaphore(key, 1, backend=backend)
    with pytest.raises(syssem.NotAvailableError):
        sem.lost_fd()
    sem.close()


def test_unknown_code_still_raises_an_error():
    e = syssem.Error("syssem_x: from a newer library", -99)
    assert e.code == -99 and str(e) == "syssem_x: from a newer library"


def test_bad_environment_backend(key):
    # The library reads $SYSSEM_BACKEND at open: a child process sees it.
    script = (
        "import syssem, sys\n"
        "try:\n"
        "    syssem.Semaphore(sys.argv[1], 1)\n"
        "except syssem.InvalidArgumentError as e:\n"
        "    print(type(e).__name__, isinstance(e, ValueError), e.code.name)\n")
    out = subprocess.run([sys.executable, "-c", script, key], cwd="/",
                         env=dict(os.environ, SYSSEM_BACKEND="nope"),
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    assert out == "InvalidArgumentError True EINVAL\n"


def test_permission_denied(key, backend):
    # Root passes every permission check, so as root the other side is a
    # child that became nobody. Otherwise the semaphore is made read-only
    # for its owner: System V refuses the creator's first semop, POSIX the
    # next opener's read-write open.
    if os.getuid() == 0:
        sem = syssem.Semaphore(key, 1, backend=backend, permissions=0o600)
        script = (
            "import os, sys, syssem\n"
            "os.setgid(65534); os.setgroups([]); os.setuid(65534)\n"
            "try:\n"
            "    syssem.Semaphore(sys.argv[1], 0, backend=sys.argv[2])\n"
            "except syssem.PermissionDeniedError as e:\n"
            "    print(isinstance(e, PermissionError), e.code.name)\n")
        out = subprocess.run([sys.executable, "-c", script, key, str(backend)],
                             cwd="/", stdout=subprocess.PIPE, text=True,
                             check=True).stdout
        assert out == "True EPERM\n"
        sem.close()
        return
    handles = []
    try:
        with pytest.raises(syssem.PermissionDeniedError) as info:
            handles.append(syssem.Semaphore(key, 1, backend=backend,
                                            permissions=0o400))
            handles.append(syssem.Semaphore(key, 0, backend=backend))
            handles[-1].acquire(0)
        assert isinstance(info.value, PermissionError)
        assert info.value.code == syssem.Code.EPERM
    finally:
        for h in reversed(handles):
            h.close()


# --- bad arguments: TypeError or ValueError, and nothing created -----------

BAD_OPEN = [
    (dict(key=b"k"), TypeError),
    (dict(key=None), TypeError),
    (dict(key=42), TypeError),
    (dict(key=""), ValueError),                   # InvalidKeyError
    (dict(key="a\0b"), ValueError),
    (dict(key="\udc80"), ValueError),             # not encodable as UTF-8
    (dict(initial=-1), ValueError),
    (dict(initial=2**40), ValueError),
    (dict(initial=-2**70), ValueError),
    (dict(initial=1.0), TypeError),
    (dict(initial="1"), TypeError),
    (dict(initial=True), TypeError),
    (dict(initial=32768, backend="sysv"), ValueError),   # above SEMVMX
    (dict(mode=4), ValueError),
    (dict(mode=-1), ValueError),
    (dict(mode="opne"), ValueError),
    (dict(mode=1.0), TypeError),
    (dict(mode=True), TypeError),
    (dict(backend="nope"), ValueError),
    (dict(backend=0), ValueError),
    (dict(backend=9), ValueError),
    (dict(backend=True), TypeError),
    (dict(keyform="nope"), ValueError),
    (dict(keyform=3), ValueError),
    (dict(keyform="native", key="relative/path"), ValueError),
    (dict(keyform="uri", key="nonsense:/x"), ValueError),
    (dict(keyform="uri", key="posix:/x", backend="sysv"), ValueError),
    (dict(permissions=0o1000), ValueError),
    (dict(permissions=-1), ValueError),
    (dict(permissions="600"), TypeError),
    (dict(permissions=True), TypeError),
]


@pytest.mark.parametrize("args,exc", BAD_OPEN, ids=lambda v: repr(v)[:40])
def test_bad_open_arguments(key, args, exc):
    args = dict(args)
    k = args.pop("key", key)
    with pytest.raises(exc):
        syssem.Semaphore(k, **args)
    assert leftovers(key) == []
    if isinstance(k, str) and k.isprintable() and k and "keyform" not in args:
        for b in BACKENDS:
            assert not exists(k, b)


def test_bad_open_positional_and_unknown_keywords(key):
    with pytest.raises(TypeError):
        syssem.Semaphore()
    with pytest.raises(TypeError):
        syssem.Semaphore(key, 1, 0, "sysv")         # backend is keyword-only
    with pytest.raises(TypeError):
        syssem.Semaphore(key, 1, colour="red")
    assert leftovers(key) == []


@pytest.mark.parametrize("timeout,exc", [
    (-1, ValueError), (-0.001, ValueError), (float("nan"), ValueError),
    ("1", TypeError), (True, TypeError), (False, TypeError), ([], TypeError),
])
def test_bad_timeout(key, backend, timeout, exc):
    sem = syssem.Semaphore(key, 1, backend=backend)
    with pytest.raises(exc):
        sem.acquire(timeout)
    with pytest.raises(exc):
        sem.acquire(timeout=timeout)
    assert sem.value == 1             # nothing taken
    sem.close()


@pytest.mark.parametrize("n,exc", [
    (-1, ValueError), (-2**70, ValueError), (1.0, TypeError), ("1", TypeError),
    (True, TypeError), (None, TypeError), (2**70, OverflowError),
])
def test_bad_release(key, backend, n, exc):
    sem = syssem.Semaphore(key, 1, backend=backend)
    with pytest.raises(exc):
        sem.release(n)
    assert sem.value == 1             # nothing given
    sem.close()


def test_bad_method_arguments(key):
    sem = syssem.Semaphore(key, 1)
    with pytest.raises(TypeError):
        sem.acquire(1, 2)
    with pytest.raises(TypeError):
        sem.acquire(blocking=True)
    with pytest.raises(TypeError):
        sem.release(1, 2)
    with pytest.raises(TypeError):
        sem.release(count=2)
    assert sem.value == 1
    sem.close()


def test_bad_remove_arguments(key):
    for args, exc in [((b"k",), TypeError), (("",), ValueError)]:
        with pytest.raises(exc):
            syssem.remove(*args)
    with pytest.raises(ValueError):
        syssem.remove(key, backend="nope")
    with pytest.raises(TypeError):
        syssem.remove(key, "sysv")
    with pytest.raises(syssem.NotFoundError):
        syssem.remove(key)
    assert leftovers(key) == []


def test_closed_handle(key, backend):
    sem = syssem.Semaphore(key, 1, backend=backend)
    sem.close()
    sem.close()                       # twice is fine
    assert sem.closed
    for use in (sem.acquire, sem.release, lambda: sem.value,
                lambda: sem.created, lambda: sem.native_key,
                lambda: sem.backend, sem.__enter__, lambda: pickle.dumps(sem)):
        with pytest.raises(ValueError, match="closed"):
            use()
    assert sem.key == key
    assert "closed" in repr(sem)
