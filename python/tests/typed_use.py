"""Typed use of the package, checked with mypy --strict by test_api.py (not
a test itself): the shipped type hints must describe the API."""

import syssem


def use(key: str) -> int:
    sem = syssem.Semaphore(key, 2, syssem.CREATE, backend="posix",
                           keyform=syssem.Keyform.LEGACY, permissions=0o600,
                           persist=False, no_undo=True)
    with sem as same:
        got: bool = same.acquire(timeout=0.5) or same.acquire(None)
        if got:
            same.release(n=1)
    backend: syssem.Backend = sem.backend
    names: str = sem.key + sem.native_key + syssem.native_name(key)
    sem.close()
    syssem.remove(key, backend=syssem.Backend.POSIX, missing_ok=True)
    return sem.value + int(backend) + len(names) + int(sem.created)


def handle() -> str:
    try:
        use("typed")
    except syssem.NotFoundError as e:
        code: syssem.Code = e.code
        return f"{code.name}: {e.message}"
    except syssem.Error as e:
        return str(e)
    return syssem.library_version() + syssem.__version__ + str(
        syssem.available_backends())
