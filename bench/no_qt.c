/*
 * Built instead of impl_qt.cpp where Qt 6 Core or a C++ compiler is missing:
 * the Qt rows are left out.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>

#include "impl.h"

const bench_impl_t *const bench_qt = NULL;
const char *const bench_qt_version = "";
