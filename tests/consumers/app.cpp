// The C++ consumer: the header included from C++, the library linked, one
// semaphore opened with explicit options, taken and given back through a
// small RAII guard. Prints "ok: ..." and exits 0 on success.
//
// SPDX-License-Identifier: MIT
#include <cstdio>
#include <sstream>
#include <string>
#include <unistd.h>

#include <syssem.h>

namespace {

class Semaphore {
public:
  Semaphore(const std::string &key, int initial) : s_(0)
  {
    syssem_options_t opts = SYSSEM_OPTIONS_INIT;
    opts.permissions = 0600;
    status_ = syssem_open_ex(&s_, key.c_str(), initial, SYSSEM_CREATE, &opts);
  }
  ~Semaphore() { syssem_close(s_); }
  int status() const { return status_; }
  syssem_t *get() const { return s_; }

private:
  Semaphore(const Semaphore &);
  Semaphore &operator=(const Semaphore &);
  syssem_t *s_;
  int status_;
};

class Token {
public:
  explicit Token(syssem_t *s) : s_(s), held_(syssem_acquire(s) == SYSSEM_OK) {}
  ~Token()
  {
    if (held_)
      syssem_release(s_, 1);
  }
  bool held() const { return held_; }

private:
  Token(const Token &);
  Token &operator=(const Token &);
  syssem_t *s_;
  bool held_;
};

int fail(const char *what)
{
  std::fprintf(stderr, "app-cpp: %s: %s\n", what, syssem_last_error_message());
  return 1;
}

} // namespace

int main()
{
  std::ostringstream key;
  key << "syssem-consumer-cpp-" << getpid();
  Semaphore sem(key.str(), 1);
  if (sem.status() != SYSSEM_OK)
    return fail("syssem_open_ex");
  {
    Token token(sem.get());
    if (!token.held())
      return fail("syssem_acquire");
    if (syssem_try_acquire(sem.get(), 0) != SYSSEM_ETIMEDOUT)
      return fail("syssem_try_acquire on a count of 0");
  }
  int value = -1;
  if (syssem_value(sem.get(), &value) != SYSSEM_OK || value != 1)
    return fail("syssem_value");
  std::printf("ok: libsyssem %s from C++, %s backend\n", syssem_version(),
              syssem_backend_name(syssem_backend(sem.get())));
  return 0;
}
