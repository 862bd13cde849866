"""The package's surface: attributes, enumerations, keys, version, help,
type hints, and the build (static, nothing exported but the module)."""

import ast
import importlib.metadata
import inspect
import os
import pathlib
import pydoc
import subprocess
import weakref

import pytest

import syssem
from conftest import BACKENDS, POSIX, SOURCE, SYSV, exists


def test_attributes(key, backend):
    sem = syssem.Semaphore(key, 2, backend=backend)
    assert sem.key == key
    assert sem.backend is backend and isinstance(sem.backend, syssem.Backend)
    assert sem.created is True
    assert sem.value == 2
    assert sem.closed is False
    assert sem.native_key == syssem.native_name(key, backend=backend)
    if backend == SYSV:
        assert os.path.isabs(sem.native_key)
        assert os.path.basename(sem.native_key).startswith("qipc_systemsem_")
    else:
        assert sem.native_key.startswith("/qipc_systemsem_")
    assert repr(sem).startswith(f"<syssem.Semaphore {key!r}, {backend} ")
    assert weakref.ref(sem)() is sem
    sem.close()


def test_context_manager_holds_one_token(key, backend):
    sem = syssem.Semaphore(key, 2, backend=backend)
    with sem as same:
        assert same is sem
        assert sem.value == 1
        with sem:
            assert sem.value == 0
            assert not sem.acquire(0)
        assert sem.value == 1
    assert sem.value == 2
    with pytest.raises(KeyError):
        with sem:
            raise KeyError("the token goes back on the way out")
    assert sem.value == 2
    sem.close()


def test_release_many_and_zero(key, backend):
    sem = syssem.Semaphore(key, 0, backend=backend)
    sem.release(0)
    assert sem.value == 0
    sem.release(n=5)
    assert sem.value == 5
    sem.release(1000)
    assert sem.value == 1005
    sem.close()


def test_backend_by_name_and_environment(key):
    for name in ("sysv", "posix"):
        b = syssem.Backend(name)
        if b in BACKENDS:
            sem = syssem.Semaphore(key, 1, backend=name)
            assert sem.backend is b
            sem.close()
    assert str(syssem.Backend.POSIX) == "posix"
    assert syssem.Backend("win32") is syssem.Backend.WIN32


def test_default_backend_follows_environment(key):
    script = ("import sys, syssem\n"
              "s = syssem.Semaphore(sys.argv[1], 1)\n"
              "print(s.backend)\n")
    for name in ("sysv", "posix"):
        out = subprocess.run(
            [__import__("sys").executable, "-c", script, key], cwd="/",
            env=dict(os.environ, SYSSEM_BACKEND=name), check=True,
            stdout=subprocess.PIPE, text=True).stdout
        assert out == f"{name}\n"
    default = subprocess.run(
        [__import__("sys").executable, "-c", script, key], cwd="/",
        env={k: v for k, v in os.environ.items() if k != "SYSSEM_BACKEND"},
        check=True, stdout=subprocess.PIPE, text=True).stdout
    assert default == "sysv\n"


def test_native_and_uri_keys(keys, tmp_path):
    # A native System V key is a file the library creates if missing and
    # never deletes; a POSIX one is "/name".
    path = str(tmp_path / "native-key")
    sem = syssem.Semaphore(path, 1, keyform=syssem.Keyform.NATIVE,
                           backend="sysv")
    assert sem.native_key == path and sem.created
    sem.close()
    assert not exists(path, SYSV, keyform="native")
    if POSIX in BACKENDS:
        name = "/" + keys("posix-native").replace("/", "-")
        sem = syssem.Semaphore(name, 2, keyform="native", backend="posix")
        assert sem.native_key == name
        uri = syssem.Semaphore("posix:" + name, 0, keyform="uri")
        assert uri.backend is POSIX and uri.value == 2
        uri.close()
        sem.close()
        assert not exists(name, POSIX, keyform="native")


def test_native_key_under_a_tmpdir_not_in_utf8(key, tmp_path):
    # A System V key file lives in $TMPDIR, whose bytes need not be UTF-8:
    # the native key is then what os.fsdecode() makes of them.
    tmpdir = os.path.join(os.fsencode(tmp_path), b"dir-\xff")
    os.mkdir(tmpdir)
    script = ("import os, sys, syssem\n"
              "s = syssem.Semaphore(sys.argv[1], 1, backend='sysv')\n"
              "print(ascii(s.native_key), os.path.exists(s.native_key))\n"
              "s.close()\n")
    env = dict(os.environb)
    env[b"TMPDIR"] = tmpdir
    out = subprocess.run([__import__("sys").executable, "-c", script, key],
                         cwd="/", env=env, check=True, stdout=subprocess.PIPE,
                         text=True).stdout
    native = os.fsdecode(os.path.join(tmpdir, os.fsencode(os.path.basename(
        syssem.native_name(key, backend=SYSV)))))
    assert out == f"{ascii(native)} True\n"
    assert os.listdir(tmpdir) == []   # the owner removed its key file


def test_modes_by_name(key, backend):
    sem = syssem.Semaphore(key, 1, "create_new", backend=backend)
    with pytest.raises(syssem.AlreadyExistsError):
        syssem.Semaphore(key, 1, mode="create_new", backend=backend)
    sem.close()


def test_module_constants():
    assert syssem.OPEN is syssem.Mode.OPEN
    assert syssem.CREATE is syssem.Mode.CREATE
    assert syssem.OPEN_EXISTING is syssem.Mode.OPEN_EXISTING
    assert syssem.CREATE_NEW is syssem.Mode.CREATE_NEW
    # The numbers are the C library's.
    assert [int(m) for m in syssem.Mode] == [0, 1, 2, 3]
    assert [int(b) for b in syssem.Backend] == [1, 2, 3, 4]
    assert [int(k) for k in syssem.Keyform] == [0, 1, 2]
    assert syssem.Code.EPERM == -1 and syssem.Code.EUNAVAIL == -13
    for name in syssem.__all__:
        assert hasattr(syssem, name), name


def test_versions():
    lib = syssem.library_version()
    assert lib.count(".") == 2 and all(p.isdigit() for p in lib.split("."))
    assert syssem.__version__ == lib
    # The package's version (python/meson.build) is the library's.
    assert importlib.metadata.version("syssem") == lib


def test_available_backends():
    assert syssem.available_backends() == BACKENDS
    assert SYSV in BACKENDS and syssem.Backend.WIN32 not in BACKENDS
    assert syssem.Backend.ETCD not in BACKENDS


def test_help_is_enough_to_use_it():
    text = pydoc.render_doc(syssem.Semaphore, renderer=pydoc.plaintext)
    for word in ("Semaphore(", "initial=0", "acquire(self", "timeout=None",
                 "release(self", "n=1", "close(self", "native_key",
                 "created", "backend", "value", "persist", "no_undo",
                 "permissions", "keyform", "Ownership", "KeyboardInterrupt",
                 "NotFoundError"):
        assert word in text, word
    sig = inspect.signature(syssem.Semaphore)
    assert list(sig.parameters) == ["key", "initial", "mode", "backend",
                                    "keyform", "permissions", "persist",
                                    "no_undo"]
    assert sig.parameters["mode"].default is syssem.OPEN
    assert sig.parameters["backend"].kind is inspect.Parameter.KEYWORD_ONLY
    for f in (syssem.remove, syssem.native_name, syssem.available_backends,
              syssem.library_version):
        assert inspect.signature(f) and f.__doc__
    for cls in (syssem.Mode, syssem.Backend, syssem.Keyform, syssem.Error):
        assert cls.__doc__


def _stub_names(path):
    tree = ast.parse(path.read_text())
    names = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names[node.name] = {n.name for n in node.body
                                if isinstance(n, ast.FunctionDef)}
        elif isinstance(node, ast.FunctionDef):
            names[node.name] = None
        elif isinstance(node, ast.AnnAssign):
            names[node.target.id] = None
    return names


def test_type_hints_shipped_and_complete():
    pkg = pathlib.Path(syssem.__file__).parent
    assert (pkg / "py.typed").is_file()
    stub = _stub_names(pkg / "_syssem.pyi")
    public = {n for n in dir(syssem._syssem) if not n.startswith("__")}
    assert set(stub) == public
    members = {n for n in dir(syssem.Semaphore)
               if not n.startswith("__") or n in ("__enter__", "__exit__")}
    assert stub["Semaphore"] >= members
    assert "__new__" in stub["Semaphore"]


def test_type_hints_match_the_module_and_check(tmp_path):
    # stubtest compares the stubs with the module at run time; mypy --strict
    # checks a program written against them.
    pytest.importorskip("mypy", reason="mypy is not installed (Debian: "
                        "apt install mypy): the type hints are not checked")
    here = pathlib.Path(__file__).parent
    for args in (["-m", "mypy.stubtest", "syssem"],
                 ["-m", "mypy", "--strict", "--no-incremental",
                  str(here / "typed_use.py")]):
        p = subprocess.run([__import__("sys").executable, *args],
                           cwd=tmp_path, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        assert p.returncode == 0, p.stdout


def test_linked_statically_exporting_only_the_module():
    so = pathlib.Path(syssem._syssem.__file__)
    readelf = subprocess.run(["readelf", "-d", "--dyn-syms", "-W", so],
                             stdout=subprocess.PIPE, text=True)
    if readelf.returncode != 0:
        pytest.skip("readelf (binutils) is not installed")
    needed = [line for line in readelf.stdout.splitlines() if "(NEEDED)" in line]
    assert not any("syssem" in line for line in needed), needed
    exported = set()
    for line in readelf.stdout.splitlines():
        f = line.split()
        if len(f) >= 8 and f[4] == "GLOBAL" and f[6] != "UND":
            exported.add(f[7])
    assert exported == {"PyInit__syssem"}


def test_tests_use_the_installed_package():
    assert SOURCE not in pathlib.Path(syssem.__file__).resolve().parents
