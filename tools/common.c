/*
 * What every command of the syssem tool shares: messages, the exit status
 * of a failure, and how a name is printed.
 *
 * SPDX-License-Identifier: MIT
 */
#define _XOPEN_SOURCE 700

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "syssem_int.h"

const char *cli_subcommand;

static void vsay(const char *fmt, va_list ap)
{
  fputs("syssem: ", stderr);
  if (cli_subcommand != NULL)
    fprintf(stderr, "%s: ", cli_subcommand);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

void cli_say(const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vsay(fmt, ap);
  va_end(ap);
}

int cli_usage_error(const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vsay(fmt, ap);
  va_end(ap);
  if (cli_subcommand != NULL)
    fprintf(stderr, "Try 'syssem %s --help'.\n", cli_subcommand);
  else
    fputs("Try 'syssem --help'.\n", stderr);
  return ST_USAGE;
}

int cli_lib_fail(const char *what, int code)
{
  const char *text = syssem_strerror(code);
  const char *detail = syssem_last_error_message();

  if (*what == '\0')
    what = "(empty key)";
  if (syssem_last_error() != code || strstr(detail, text) != NULL)
    cli_say("%s: %s", what, text);
  else
    cli_say("%s: %s (%s)", what, text, detail);
  if (code == SYSSEM_EKEY || code == SYSSEM_EINVAL)
    return ST_USAGE;
  return code == SYSSEM_ETIMEDOUT ? ST_TIMEOUT : ST_LIB;
}

int cli_os_fail(const char *what, int err)
{
  cli_say("%s: %s", what, strerror(err));
  return ST_LIB;
}

/* The length of the well-formed UTF-8 sequence at p that encodes a printable
 * character (not a C1 control, U+0080..U+009F), or 0. */
static size_t printable_utf8(const unsigned char *p)
{
  size_t need, i;

  if (*p >= 0xc2 && *p <= 0xdf)
    need = 2;
  else if (*p >= 0xe0 && *p <= 0xef)
    need = 3;
  else if (*p >= 0xf0 && *p <= 0xf4)
    need = 4;
  else
    return 0;
  for (i = 1; i < need; i++)
    if (p[i] == '\0')
      return 0;
  if (!syssem__utf8_valid((const char *)p, need))
    return 0;
  if (p[0] == 0xc2 && p[1] < 0xa0)
    return 0;
  return need;
}

/* One line per object, one word per field: a name never puts a line break,
 * a space, a terminal control sequence or a byte that is not text into the
 * output, and the escape can be undone exactly (syssem(1), NAMES IN
 * OUTPUT). */
void cli_put_name(const char *name)
{
  static const char hex[] = "0123456789abcdef";
  const unsigned char *p = (const unsigned char *)name;
  size_t n;

  while (*p != '\0') {
    if (*p == '\\') {
      fputs("\\\\", stdout);
      p++;
    } else if (*p > 0x20 && *p < 0x7f) {
      putchar(*p++);
    } else if ((n = printable_utf8(p)) > 0) {
      fwrite(p, 1, n, stdout);
      p += n;
    } else {
      putchar('\\');
      putchar('x');
      putchar(hex[*p >> 4]);
      putchar(hex[*p & 15]);
      p++;
    }
  }
}
