"""The open modes and the ownership rules, on each backend (docs/semantics.md)."""

import gc
import os

import pytest

import syssem
from conftest import SYSV, exists


def test_open_absent_creates(key, backend):
    with_count = syssem.Semaphore(key, 3, syssem.OPEN, backend=backend)
    assert with_count.created
    assert with_count.value == 3
    with_count.close()
    assert not exists(key, backend)


def test_open_existing_keeps_count(key, backend):
    first = syssem.Semaphore(key, 3, backend=backend)
    first.acquire(0)
    second = syssem.Semaphore(key, 7, syssem.OPEN, backend=backend)
    assert not second.created
    assert second.value == 2          # initial ignored, count unchanged
    assert second.acquire(0)          # the same semaphore
    assert first.value == 1
    second.close()
    first.close()


def test_create_existing_resets_the_same_semaphore(key, backend):
    first = syssem.Semaphore(key, 1, backend=backend)
    second = syssem.Semaphore(key, 5, syssem.CREATE, backend=backend)
    assert not second.created
    assert first.value == 5           # the same object, count set to initial
    assert second.acquire(0)
    assert first.value == 4
    first.close()
    second.close()


def test_create_absent_creates(key, backend):
    sem = syssem.Semaphore(key, 2, syssem.CREATE, backend=backend)
    assert sem.created and sem.value == 2
    sem.close()


def test_open_existing_mode(key, backend):
    with pytest.raises(syssem.NotFoundError) as info:
        syssem.Semaphore(key, 1, syssem.OPEN_EXISTING, backend=backend)
    assert isinstance(info.value, FileNotFoundError)
    assert info.value.code == syssem.Code.ENOENT
    assert not exists(key, backend)   # nothing created, no key file either
    if backend == SYSV:
        assert not os.path.exists(syssem.native_name(key, backend=backend))
    owner = syssem.Semaphore(key, 4, backend=backend)
    sem = syssem.Semaphore(key, 1, syssem.OPEN_EXISTING, backend=backend)
    assert not sem.created and sem.value == 4
    sem.close()
    owner.close()


def test_create_new_mode(key, backend):
    sem = syssem.Semaphore(key, 2, syssem.CREATE_NEW, backend=backend)
    assert sem.created and sem.value == 2
    sem.acquire(0)
    with pytest.raises(syssem.AlreadyExistsError) as info:
        syssem.Semaphore(key, 9, syssem.CREATE_NEW, backend=backend)
    assert isinstance(info.value, FileExistsError)
    assert info.value.code == syssem.Code.EEXIST
    assert sem.value == 1             # untouched
    sem.close()


def test_modes_by_number_and_enum(key, backend):
    sem = syssem.Semaphore(key, 1, 3, backend=backend)   # CREATE_NEW
    assert sem.created
    with pytest.raises(syssem.AlreadyExistsError):
        syssem.Semaphore(key, 1, syssem.Mode(3), backend=backend)
    sem.close()


def test_owner_close_removes(key, backend):
    sem = syssem.Semaphore(key, 1, backend=backend)
    native = sem.native_key
    sem.close()
    assert not exists(key, backend)
    if backend == SYSV:
        assert not os.path.exists(native)   # and its key file


def test_owner_removes_when_collected(key, backend):
    sem = syssem.Semaphore(key, 1, backend=backend)
    del sem
    gc.collect()
    assert not exists(key, backend)


def test_nonowner_close_keeps(key, backend):
    owner = syssem.Semaphore(key, 2, backend=backend)
    other = syssem.Semaphore(key, 0, backend=backend)
    other.close()
    assert exists(key, backend)
    assert owner.value == 2
    owner.close()


def test_create_opener_owns(key, backend):
    first = syssem.Semaphore(key, 1, backend=backend)
    second = syssem.Semaphore(key, 1, syssem.CREATE, backend=backend)
    second.close()                    # the CREATE opener owns it
    assert not exists(key, backend)
    first.close()


def test_persist_keeps(key, backend):
    sem = syssem.Semaphore(key, 2, backend=backend, persist=True)
    sem.close()
    assert exists(key, backend)
    other = syssem.Semaphore(key, 0, syssem.OPEN_EXISTING, backend=backend)
    assert other.value == 2
    other.close()
    syssem.remove(key, backend=backend)
    assert not exists(key, backend)


def test_fork_child_never_removes(key, backend):
    sem = syssem.Semaphore(key, 1, backend=backend)
    pid = os.fork()
    if pid == 0:
        # The child closes the handle it inherited, and collects it again.
        status = 0
        try:
            sem.close()
            gc.collect()
        except BaseException:
            status = 1
        os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert exists(key, backend)
    assert sem.value == 1
    sem.close()
    assert not exists(key, backend)


def test_fork_child_collecting_never_removes(key, backend):
    sem = syssem.Semaphore(key, 1, backend=backend)
    pid = os.fork()
    if pid == 0:
        del sem
        gc.collect()
        os._exit(0)
    os.waitpid(pid, 0)
    assert exists(key, backend)
    sem.close()


def test_remove(key, backend):
    sem = syssem.Semaphore(key, 1, backend=backend, persist=True)
    sem.close()
    syssem.remove(key, backend=backend)
    assert not exists(key, backend)
    with pytest.raises(syssem.NotFoundError):
        syssem.remove(key, backend=backend)
    syssem.remove(key, backend=backend, missing_ok=True)
    assert not exists(key, backend)
