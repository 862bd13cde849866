"""Named, counting semaphores shared by the processes of one machine.

syssem is the Python face of libsyssem, with the semantics of Qt's
QSystemSemaphore: a Python program, a C program using libsyssem and a Qt
program using QSystemSemaphore that use the same string key meet on the same
semaphore.

    import syssem

    # At most 2 processes on this machine render at once.
    slots = syssem.Semaphore("org.example.render-slots", 2)
    with slots:
        render()

Semaphore(key, initial=0, mode=OPEN, ...) opens or creates a semaphore;
acquire(timeout=None) and release(n=1) take and give tokens, as
threading.Semaphore does. remove(key) removes one. Failures raise
subclasses of Error, which also derive from the built-in exception that fits
(NotFoundError is a FileNotFoundError, ...). See help(syssem.Semaphore).
"""

from ._types import (
    Mode, Backend, Keyform, Code,
    Error, PermissionDeniedError, InvalidKeyError, AlreadyExistsError,
    NotFoundError, OutOfResourcesError, UnknownError, InvalidArgumentError,
    TimedOutError, CountOverflowError, NotAvailableError, OutOfMemoryError,
    TokensLostError, UnavailableError,
)
from ._syssem import (
    Semaphore, remove, native_name, available_backends, library_version,
)

__all__ = [
    "Semaphore", "remove", "native_name", "available_backends",
    "library_version", "__version__",
    "Mode", "OPEN", "CREATE", "OPEN_EXISTING", "CREATE_NEW",
    "Backend", "Keyform", "Code",
    "Error", "PermissionDeniedError", "InvalidKeyError", "AlreadyExistsError",
    "NotFoundError", "OutOfResourcesError", "UnknownError",
    "InvalidArgumentError", "TimedOutError", "CountOverflowError",
    "NotAvailableError", "OutOfMemoryError", "TokensLostError",
    "UnavailableError",
]

#: The modes, also as module constants: syssem.OPEN is Mode.OPEN.
OPEN = Mode.OPEN
CREATE = Mode.CREATE
OPEN_EXISTING = Mode.OPEN_EXISTING
CREATE_NEW = Mode.CREATE_NEW

#: The version of this package, which is that of the C library inside it.
__version__ = library_version()
