/*
 * The Qt side of the benchmark: QSystemSemaphore driven the way a Qt
 * program drives it, the key already a QString.
 *
 * SPDX-License-Identifier: MIT
 */
#include <QtCore/QString>
#include <QtCore/QSystemSemaphore>
#include <QtCore/QtGlobal>

#include "bench_qt.h"

void *bench_qt_new(const char *key, int initial)
{
  auto *q = new QSystemSemaphore(QString::fromUtf8(key), initial,
                                 QSystemSemaphore::Create);
  if (q->error() != QSystemSemaphore::NoError) {
    delete q;
    return nullptr;
  }
  return q;
}

void bench_qt_delete(void *q)
{
  delete static_cast<QSystemSemaphore *>(q);
}

long bench_qt_pairs(void *q, long n)
{
  auto *s = static_cast<QSystemSemaphore *>(q);
  long bad = 0;

  for (long i = 0; i < n; i++) {
    bad += !s->acquire();
    bad += !s->release();
  }
  return bad;
}

long bench_qt_open_close(const char *key, int initial, long n)
{
  const QString k = QString::fromUtf8(key);
  long bad = 0;

  for (long i = 0; i < n; i++) {
    QSystemSemaphore s(k, initial, QSystemSemaphore::Open);
    bad += s.error() != QSystemSemaphore::NoError;
  }
  return bad;
}

const char *bench_qt_version(void)
{
  return qVersion();
}
