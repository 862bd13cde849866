/*
 * Boost.Interprocess's named_semaphore, what a C++ program would pick
 * instead: on Linux Boost builds it on POSIX sem_open. Boost prefixes the
 * name with a slash itself.
 *
 * SPDX-License-Identifier: MIT
 */
#include <new>
#include <string>

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/permissions.hpp>
#include <boost/interprocess/sync/named_semaphore.hpp>
#include <boost/version.hpp>

#include "impl.h"

namespace bip = boost::interprocess;

namespace {

struct handle {
  bip::named_semaphore sem;
  std::string name;
  bool owner;

  template <typename... A>
  handle(const char *n, bool own, A &&...a)
      : sem(static_cast<A &&>(a)...), name(n), owner(own) {}
};

void *bx_create(const char *key, int initial)
{
  try {
    return new handle(key, true, bip::create_only, key,
                      static_cast<unsigned>(initial),
                      bip::permissions(0600));
  } catch (const std::exception &) {
    return nullptr;
  }
}

void *bx_attach(const char *key)
{
  try {
    return new handle(key, false, bip::open_only, key);
  } catch (const std::exception &) {
    return nullptr;
  }
}

int bx_acquire(void *h)
{
  try {
    static_cast<handle *>(h)->sem.wait();
    return 0;
  } catch (const std::exception &) {
    return -1;
  }
}

int bx_release(void *h)
{
  try {
    static_cast<handle *>(h)->sem.post();
    return 0;
  } catch (const std::exception &) {
    return -1;
  }
}

long bx_pairs(void *h, long n)
{
  bip::named_semaphore &s = static_cast<handle *>(h)->sem;
  long bad = 0;

  for (long i = 0; i < n; i++) {
    try {
      s.wait();
      s.post();
    } catch (const std::exception &) {
      bad++;
    }
  }
  return bad;
}

void bx_close(void *p)
{
  auto *h = static_cast<handle *>(p);
  const std::string name = h->name;
  const bool owner = h->owner;

  delete h;
  if (owner)
    bip::named_semaphore::remove(name.c_str());
}

bench_impl_t make_table()
{
  bench_impl_t t = {};

  t.name = "boost named_semaphore";
  t.side = "boost";
  t.primitive = "posix";
  t.create = bx_create;
  t.attach = bx_attach;
  t.acquire = bx_acquire;
  t.release = bx_release;
  t.pairs = bx_pairs;
  t.close = bx_close;
  t.destroy = bx_close;
  return t;
}

const bench_impl_t table = make_table();

} // namespace

extern "C" {
extern const bench_impl_t *const bench_boost = &table;
extern const char *const bench_boost_version = BOOST_LIB_VERSION;
}
