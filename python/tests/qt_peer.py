"""A PyQt6 QSystemSemaphore driven by lines, for the interop tests.

    python3 qt_peer.py KEY INITIAL open|create

Constructs QSystemSemaphore(KEY, INITIAL, AccessMode.Open or .Create) and
prints "ready", or "err N TEXT" (error() and errorString()). Then answers
each line of stdin with one line:

    acquire     "acquiring" before it blocks, then "ok" or "err N TEXT"
    release N   "ok" or "err N TEXT"
    quit        ends, destroying the semaphore (no answer); so does EOF
"""

import sys

from PyQt6.QtCore import QSystemSemaphore


def result(sem, ok):
    if ok:
        return "ok"
    return f"err {sem.error().value} {sem.errorString()}"


def main():
    key, initial, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    access = {"open": QSystemSemaphore.AccessMode.Open,
              "create": QSystemSemaphore.AccessMode.Create}[mode]
    sem = QSystemSemaphore(key, initial, access)
    ok = sem.error() == QSystemSemaphore.SystemSemaphoreError.NoError
    print("ready" if ok else result(sem, False), flush=True)
    for line in sys.stdin:
        words = line.split()
        if words == ["acquire"]:
            print("acquiring", flush=True)
            print(result(sem, sem.acquire()), flush=True)
        elif len(words) == 2 and words[0] == "release":
            print(result(sem, sem.release(int(words[1]))), flush=True)
        elif words == ["quit"]:
            break
        else:
            print("err -1 unknown command", flush=True)
    del sem               # the owner's destructor removes the semaphore


if __name__ == "__main__":
    main()
