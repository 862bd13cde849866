# Type hints of the C extension syssem._syssem.
from types import TracebackType
from typing import Optional, Tuple, Type, Union

from ._types import Backend, Keyform, Mode

_BackendArg = Union[Backend, str, int, None]
_KeyformArg = Union[Keyform, str, int, None]

WAIT_SLICE_MS: int

class Semaphore:
    def __new__(
        cls,
        key: str,
        initial: int = 0,
        mode: Union[Mode, int, str] = Mode.OPEN,
        *,
        backend: _BackendArg = None,
        keyform: _KeyformArg = None,
        permissions: Optional[int] = None,
        persist: bool = False,
        no_undo: bool = False,
    ) -> Semaphore: ...
    def acquire(self, timeout: Optional[float] = None) -> bool: ...
    def release(self, n: int = 1) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Semaphore: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> bool: ...
    @property
    def value(self) -> int: ...
    @property
    def created(self) -> bool: ...
    @property
    def key(self) -> str: ...
    @property
    def native_key(self) -> str: ...
    @property
    def backend(self) -> Backend: ...
    @property
    def closed(self) -> bool: ...

def remove(
    key: str,
    *,
    backend: _BackendArg = None,
    keyform: _KeyformArg = None,
    missing_ok: bool = False,
) -> None: ...
def native_name(
    key: str, *, backend: _BackendArg = None, keyform: _KeyformArg = None
) -> str: ...
def available_backends() -> Tuple[Backend, ...]: ...
def library_version() -> str: ...
def _reopen(key: str, backend: int, keyform: int, no_undo: int) -> Semaphore: ...
def _c_rounds(sem: Semaphore, n: int) -> float: ...
