"""The enumerations and exceptions of syssem.

They live in pure Python so that the C extension (syssem._syssem) and the
package share one definition: the extension imports this module and raises
the classes of ERRORS, chosen by the C library's error code.
"""

import enum

__all__ = [
    "Mode", "Backend", "Keyform", "Code",
    "Error", "PermissionDeniedError", "InvalidKeyError", "AlreadyExistsError",
    "NotFoundError", "OutOfResourcesError", "UnknownError",
    "InvalidArgumentError", "TimedOutError", "CountOverflowError",
    "NotAvailableError", "OutOfMemoryError", "TokensLostError",
    "UnavailableError",
]


class _ByName:
    """For enumerations that also take a member's lower-case name:
    Backend("posix") is Backend.POSIX, and str() gives that name."""

    @classmethod
    def _missing_(cls, value):
        if isinstance(value, str):
            for member in cls:
                if member.name.lower() == value:
                    return member
        return None

    def __str__(self):
        return self.name.lower()


class Mode(_ByName, enum.IntEnum):
    """How Semaphore() treats an existing or absent semaphore.

    OPEN           exists: attach, count unchanged, initial ignored;
                   absent: create with count initial.
    CREATE         exists: attach the same semaphore and set its count to
                   initial; absent: create. This handle then owns it.
    OPEN_EXISTING  exists: attach; absent: NotFoundError, nothing created.
    CREATE_NEW     absent: create; exists: AlreadyExistsError, untouched.

    OPEN and CREATE are the modes of Qt's QSystemSemaphore::AccessMode.
    Where a mode is asked for, its lower-case name works too.
    """

    OPEN = 0
    CREATE = 1
    OPEN_EXISTING = 2
    CREATE_NEW = 3


class Backend(_ByName, enum.IntEnum):
    """The operating-system primitive behind a semaphore.

    SYSV   System V semaphores (the Unix default, as Qt uses): a process
           killed while it holds a token gives it back.
    POSIX  POSIX named semaphores (sem_open).
    WIN32  Win32 semaphores (Windows only).
    ETCD   a semaphore on an etcd cluster, keys "etcd://..." (a module of
           the C library, not built into this package: NotAvailableError).

    Where a backend is asked for, its lower-case name works too:
    Backend("posix") is Backend.POSIX.
    """

    SYSV = 1
    POSIX = 2
    WIN32 = 3
    ETCD = 4


class Keyform(_ByName, enum.IntEnum):
    """How a key names the operating-system object.

    LEGACY  a string key, named the way Qt's QSystemSemaphore names it, so
            that Qt programs with the same key meet on the same semaphore.
    NATIVE  the key is the backend's native name: an absolute key-file path
            (System V) or "/name" (POSIX).
    URI     Qt 6.6 QNativeIpcKey text, e.g. "posix:/name" or
            "systemv:/path"; its type chooses the backend.

    Where a keyform is asked for, its lower-case name works too.
    """

    LEGACY = 0
    NATIVE = 1
    URI = 2


class Code(enum.IntEnum):
    """The C library's error codes (SYSSEM_E* in syssem.h), Error.code.

    -1 to -6 are QSystemSemaphore::SystemSemaphoreError 1 to 6, negated.
    """

    OK = 0
    EPERM = -1
    EKEY = -2
    EEXIST = -3
    ENOENT = -4
    ENOSPC = -5
    EUNKNOWN = -6
    EINVAL = -7
    ETIMEDOUT = -8
    EOVERFLOW = -9
    ENOSYS = -10
    ENOMEM = -11
    ELOST = -12
    EUNAVAIL = -13


class Error(Exception):
    """A failure reported by libsyssem.

    code     the C library's code, a Code
    message  the C library's message, naming the function, the OS call and
             the OS error, e.g. "syssem_open: semget: Permission denied";
             also str(error)

    Each code has its own subclass, which also derives from the built-in
    exception that fits it (NotFoundError is a FileNotFoundError, ...), so
    code written for the built-in exceptions catches them too.
    """

    def __init__(self, message, code=Code.EUNKNOWN):
        super().__init__(message)
        self.message = message
        try:
            self.code = Code(code)
        except ValueError:          # a code newer than this package
            self.code = code


class PermissionDeniedError(Error, PermissionError):
    """The semaphore or its key file exists and is not accessible (EPERM)."""


class InvalidKeyError(Error, ValueError):
    """The key is empty, too long, malformed or unusable (EKEY)."""


class AlreadyExistsError(Error, FileExistsError):
    """Mode.CREATE_NEW and the semaphore exists (EEXIST)."""


class NotFoundError(Error, FileNotFoundError):
    """The semaphore does not exist (ENOENT)."""


class OutOfResourcesError(Error, OSError):
    """The system is out of semaphores, descriptors or memory (ENOSPC)."""


class UnknownError(Error, OSError):
    """Any other failure of the operating system (EUNKNOWN)."""


class InvalidArgumentError(Error, ValueError):
    """An argument the C library refused (EINVAL), e.g. an initial count
    above the backend's maximum, or an unknown $SYSSEM_BACKEND."""


class TimedOutError(Error, TimeoutError):
    """No token in time (ETIMEDOUT). Semaphore.acquire() does not raise it:
    it returns False."""


class CountOverflowError(Error, OverflowError):
    """release() would take the count past the backend's maximum; the count
    is unchanged (EOVERFLOW)."""


class NotAvailableError(Error, OSError):
    """The backend, or the operation, is not available here (ENOSYS)."""


class OutOfMemoryError(Error, MemoryError):
    """An allocation failed (ENOMEM)."""


class TokensLostError(Error, OSError):
    """A networked backend gave this handle's tokens back when its lease
    expired; every later call on the handle fails so (ELOST)."""


class UnavailableError(Error, ConnectionError):
    """A networked backend's cluster did not answer in time (EUNAVAIL)."""


#: The exception class for each error code.
ERRORS = {
    Code.EPERM: PermissionDeniedError,
    Code.EKEY: InvalidKeyError,
    Code.EEXIST: AlreadyExistsError,
    Code.ENOENT: NotFoundError,
    Code.ENOSPC: OutOfResourcesError,
    Code.EUNKNOWN: UnknownError,
    Code.EINVAL: InvalidArgumentError,
    Code.ETIMEDOUT: TimedOutError,
    Code.EOVERFLOW: CountOverflowError,
    Code.ENOSYS: NotAvailableError,
    Code.ENOMEM: OutOfMemoryError,
    Code.ELOST: TokensLostError,
    Code.EUNAVAIL: UnavailableError,
}


# The public names are syssem.X: so they print, and so they pickle.
for _name in __all__:
    globals()[_name].__module__ = "syssem"
del _name
