/*
 * Built instead of impl_boost.cpp where Boost.Interprocess or a C++
 * compiler is missing: the Boost rows are left out.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>

#include "impl.h"

const bench_impl_t *const bench_boost = NULL;
const char *const bench_boost_version = "";
