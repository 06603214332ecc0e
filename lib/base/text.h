/*
 * text.h - turning raw bytes from the kernel into record text.
 *
 * Paths and arguments on Linux are arbitrary bytes; record columns are JSON
 * strings and must be valid UTF-8.  Valid UTF-8 passes unchanged; every byte
 * that is not part of a valid sequence is written as the four characters
 * "\xHH" (so nothing is lost and nothing is guessed).  docs/records.md
 * documents the rule.
 */
#ifndef RMMHUNT_TEXT_H
#define RMMHUNT_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/strbuf.h"

/* Length of the valid UTF-8 sequence at data[0..length), or 0. */
size_t utf8_sequence_length(const unsigned char *data, size_t length);
bool utf8_is_valid(const char *data, size_t length);

/* Append data, escaping invalid bytes as \xHH. */
void text_append_escaped(struct strbuf *out, const char *data, size_t length);

/*
 * Append one argument of a command line: as is when it is valid UTF-8, not
 * empty, and has no space, tab, newline or double quote; otherwise in double
 * quotes, with '"' and '\' escaped by a backslash and invalid bytes as \xHH
 * (inside quotes a backslash is always an escape, so this is reversible).
 */
void text_append_argument(struct strbuf *out, const char *data, size_t length);

/*
 * The command line of a NUL-separated argv block (as in /proc/PID/cmdline
 * and mm->arg_start..arg_end): arguments joined by single spaces, each as
 * text_append_argument writes it.  A final NUL is optional (a truncated
 * block has none).  Returns the number of arguments.
 */
size_t text_command_line(struct strbuf *out, const char *argv, size_t length);

/* Append data with every byte that is not valid UTF-8 as U+FFFD (for JSON
 * views meant to be read, where \xHH would be taken literally). */
void text_append_lossy(struct strbuf *out, const char *data, size_t length);

/* The value of a hex digit character, or -1. */
int text_hex_digit(int c);

/* Lower-case hex of bytes[0..count) into out (2 * count + 1 bytes). */
void text_hex(const unsigned char *bytes, size_t count, char *out);

/* The last component of a '/'-separated path (the whole string if none). */
const char *text_basename(const char *path);

#endif
