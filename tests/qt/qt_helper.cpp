/*
 * qt_helper: drives one QSystemSemaphore from a line protocol, so that the
 * libsyssem tests can check that a C program and a Qt program using the same
 * string key meet on the same semaphore.
 *
 * Usage: qt_helper KEY INITIAL MODE
 *   KEY      the semaphore key, taken as UTF-8
 *   INITIAL  the initial count (decimal integer)
 *   MODE     "open" (QSystemSemaphore::Open) or "create" (QSystemSemaphore::Create)
 *
 * After constructing the semaphore it prints one line:
 *   ready                     construction reported no error
 *   err <n> <text>            error() and errorString() after construction
 *                             (" <text>" is left out when errorString() is empty)
 * and then reads commands from stdin, one per line, each answered by exactly
 * one line (stdout is flushed after every line):
 *   acquire    prints "acquiring" before blocking, then "ok" or "err <n> <text>"
 *   release    same as "release 1"
 *   release N  "ok" or "err <n> <text>"
 *   key        "key -": Qt's public API does not expose the native key
 *   quit       exits 0, running the QSystemSemaphore destructor (no answer line)
 *   crash      abort(): no destructors run (no answer line)
 *   abort      _exit(3): no destructors run (no answer line)
 *   anything else: "err -1 unknown"
 * End of input behaves as "quit". Bad usage exits with status 2.
 *
 * <n> is the QSystemSemaphore::SystemSemaphoreError value (1..6); the
 * helper's own errors use -1.
 */

#include <QtCore/QByteArray>
#include <QtCore/QString>
#include <QtCore/QSystemSemaphore>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <unistd.h>

namespace {

void say(const std::string &line)
{
    std::fputs(line.c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

void sayError(const QSystemSemaphore &sem)
{
    std::string line = "err ";
    line += std::to_string(static_cast<int>(sem.error()));
    const QByteArray text = sem.errorString().toUtf8();
    if (!text.isEmpty()) {
        line += ' ';
        line.append(text.constData(), static_cast<size_t>(text.size()));
    }
    say(line);
}

bool parseInt(const char *text, int *out)
{
    if (text == nullptr || *text == '\0')
        return false;
    char *end = nullptr;
    errno = 0;
    const long value = std::strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < INT_MIN || value > INT_MAX)
        return false;
    *out = static_cast<int>(value);
    return true;
}

int usage()
{
    std::fputs("usage: qt_helper KEY INITIAL open|create\n", stderr);
    return 2;
}

/* Reads one line without its terminator; false at end of input with nothing read. */
bool readLine(std::string *line)
{
    line->clear();
    int c;
    bool any = false;
    while ((c = std::fgetc(stdin)) != EOF) {
        any = true;
        if (c == '\n')
            break;
        line->push_back(static_cast<char>(c));
    }
    if (!line->empty() && line->back() == '\r')
        line->pop_back();
    return any;
}

} // namespace

int main(int argc, char **argv)
{
    if (argc != 4)
        return usage();

    int initial = 0;
    if (!parseInt(argv[2], &initial))
        return usage();

    QSystemSemaphore::AccessMode mode;
    if (std::strcmp(argv[3], "open") == 0)
        mode = QSystemSemaphore::Open;
    else if (std::strcmp(argv[3], "create") == 0)
        mode = QSystemSemaphore::Create;
    else
        return usage();

    QSystemSemaphore sem(QString::fromUtf8(argv[1]), initial, mode);
    if (sem.error() == QSystemSemaphore::NoError)
        say("ready");
    else
        sayError(sem);

    std::string line;
    while (readLine(&line)) {
        if (line == "acquire") {
            say("acquiring");
            if (sem.acquire())
                say("ok");
            else
                sayError(sem);
        } else if (line == "release" || line.compare(0, 8, "release ") == 0) {
            int n = 1;
            if (line.size() > 8 && !parseInt(line.c_str() + 8, &n)) {
                say("err -1 bad count");
                continue;
            }
            if (sem.release(n))
                say("ok");
            else
                sayError(sem);
        } else if (line == "key") {
            say("key -");
        } else if (line == "quit") {
            break;
        } else if (line == "crash") {
            std::abort();
        } else if (line == "abort") {
            _exit(3);
        } else {
            say("err -1 unknown");
        }
    }
    return 0;
}
