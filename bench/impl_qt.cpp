/*
 * Qt's QSystemSemaphore as a Qt program drives it (System V here, with
 * SEM_UNDO): the key made a QString once, errors read from error().
 *
 * SPDX-License-Identifier: MIT
 */
#include <QtCore/QString>
#include <QtCore/QSystemSemaphore>
#include <QtCore/QtGlobal>

#include "impl.h"

namespace {

void *qt_create(const char *key, int initial)
{
  auto *q = new QSystemSemaphore(QString::fromUtf8(key), initial,
                                 QSystemSemaphore::Create);
  if (q->error() != QSystemSemaphore::NoError) {
    delete q;
    return nullptr;
  }
  return q;
}

/* Open attaches to the existing semaphore and leaves its count alone. */
void *qt_attach(const char *key)
{
  auto *q = new QSystemSemaphore(QString::fromUtf8(key), 0,
                                 QSystemSemaphore::Open);
  if (q->error() != QSystemSemaphore::NoError) {
    delete q;
    return nullptr;
  }
  return q;
}

int qt_acquire(void *h)
{
  return static_cast<QSystemSemaphore *>(h)->acquire() ? 0 : -1;
}

int qt_release(void *h)
{
  return static_cast<QSystemSemaphore *>(h)->release() ? 0 : -1;
}

long qt_pairs(void *h, long n)
{
  auto *s = static_cast<QSystemSemaphore *>(h);
  long bad = 0;

  for (long i = 0; i < n; i++) {
    bad += !s->acquire();
    bad += !s->release();
  }
  return bad;
}

/* Qt removes the semaphore and key file it created when it is destroyed. */
void qt_close(void *h)
{
  delete static_cast<QSystemSemaphore *>(h);
}

long qt_open_close(const char *key, int initial, long n)
{
  const QString k = QString::fromUtf8(key);
  long bad = 0;

  for (long i = 0; i < n; i++) {
    QSystemSemaphore s(k, initial, QSystemSemaphore::Open);
    bad += s.error() != QSystemSemaphore::NoError;
  }
  return bad;
}

bench_impl_t make_table()
{
  bench_impl_t t = {};

  t.name = "QSystemSemaphore";
  t.side = "qt";
  t.primitive = "sysv";
  t.create = qt_create;
  t.attach = qt_attach;
  t.acquire = qt_acquire;
  t.release = qt_release;
  t.pairs = qt_pairs;
  t.close = qt_close;
  t.destroy = qt_close;
  t.open_close = qt_open_close;
  return t;
}

const bench_impl_t table = make_table();

} // namespace

extern "C" {
extern const bench_impl_t *const bench_qt = &table;
extern const char *const bench_qt_version = qVersion();
}
