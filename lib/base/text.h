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
#include <stdint.h>

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

/*
 * Text for people's eyes.  Some characters make a terminal, a spreadsheet
 * or a viewer act instead of show: C0 controls and DEL (a new line, a
 * cursor move, a screen clear, a title change), C1 controls (U+0080 to
 * U+009F: 0x9b starts a control sequence on many terminals), and the
 * invisible layout controls (bidi embeddings, overrides and isolates
 * U+202A-U+202E, U+2066-U+2069, the marks U+200E, U+200F, U+061C, the
 * separators U+2028, U+2029) that make "exe.txt" of "txt.exe".  Every
 * output a person reads (console lines, query tables and CSV, inspect,
 * status, the log) and every JSON output goes through this one escaper:
 *
 *   TEXT_ESCAPE_DISPLAY  '\n' '\t' '\e' for LF, TAB, ESC, '\xHH' for the
 *                        other C0 controls, DEL, C1 controls (by code
 *                        point: U+009B is \x9b) and bytes that are not
 *                        UTF-8; '\uXXXX' for the layout controls.  A
 *                        backslash stays as it is (C:\x is a path).
 *   TEXT_ESCAPE_JSON     the inside of a JSON string: '"' '\' and C0 as
 *                        RFC 8259 says, DEL, C1 and layout controls as \u00XX
 *                        and \uXXXX (the same string once parsed), bytes
 *                        that are not UTF-8 as \ufffd.
 *   TEXT_ESCAPE_JSON_TEXT  a whole JSON text another writer made (jansson):
 *                        ASCII left alone (it escaped '"', '\' and C0),
 *                        DEL, C1 and layout controls as \u00XX, \uXXXX (they
 *                        can only be inside strings: the same document).
 */
enum text_escape_style {
	TEXT_ESCAPE_DISPLAY,
	TEXT_ESCAPE_JSON,
	TEXT_ESCAPE_JSON_TEXT,
};

/* The longest escape of one character ("\u202e"). */
#define TEXT_ESCAPE_MAX 6

/*
 * One step: the character (or stray byte) at data[0..length), length > 0.
 * Sets *consumed to its length in bytes; returns 0 when it is shown as it
 * is, else the length of its escape, written to escape.
 */
size_t text_escape_step(const char *data, size_t length, enum text_escape_style style,
			size_t *consumed, char escape[TEXT_ESCAPE_MAX]);

/* Append data escaped in style (runs of safe text copied at once). */
void text_append_safe(struct strbuf *out, const char *data, size_t length,
		      enum text_escape_style style);

/* text escaped for display, in scratch (cleared first): for printf. */
const char *text_display(struct strbuf *scratch, const char *text);

/*
 * Where to cut text (length bytes) to keep at most max bytes: at a
 * character boundary, and not inside a "\xHH" escape (text.h's own), so
 * the part kept is valid text that says what it says.  length when it fits.
 */
size_t text_cut_length(const char *text, size_t length, size_t max);

/* The offset of the first byte below 0x20 in data, or length. */
size_t text_find_control(const char *data, size_t length);
/* The offset of the first '"', '\\' or byte below 0x20 in data, or length:
 * where a JSON string's plain run stops. */
size_t text_find_json_string_stop(const char *data, size_t length);

/* number in base (2..10) as digits at out, NUL-terminated, as "%llu" or
 * "%llo" would write it (out has room for TEXT_UNSIGNED_MAX bytes: 64 bits
 * in octal and the NUL).  Returns the length, without the NUL. */
#define TEXT_UNSIGNED_MAX 24
size_t text_put_unsigned(char *out, uint64_t number, unsigned base);

/* The value of a hex digit character, or -1. */
int text_hex_digit(int c);

/* Lower-case hex of bytes[0..count) into out (2 * count + 1 bytes). */
void text_hex(const unsigned char *bytes, size_t count, char *out);

/* The last component of a '/'-separated path (the whole string if none). */
const char *text_basename(const char *path);

#endif
