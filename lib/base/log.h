/*
 * log.h - leveled diagnostics for the three programs.
 *
 * Every message a daemon or the CLI writes for a person goes through here
 * (results and records do not: they go to stdout or to their files).  A
 * message has a level, the syslog(3) severities the journal understands.
 * Messages below the configured threshold are dropped.
 *
 * Where the line goes and how it looks:
 *   - stderr is the journal (systemd sets JOURNAL_STREAM to stderr's
 *     device:inode): "<N>text", the journal reads N as the priority and adds
 *     the program name itself;
 *   - otherwise: "program: text" for errors and notices, "program: warning:
 *     text" for warnings, "program: debug: text" for debug lines.
 *
 * Each message is formatted whole and written with one write(2), so lines
 * from different threads never interleave (log_lines() writes one line at
 * a time).  Control characters in the text
 * are written as escapes (\n, \e, \xHH): a file name or a peer's string in
 * a message cannot forge a second line or drive the terminal.
 *
 * The configuration (program name, threshold, journal or not) is the only
 * state; log_configure() sets it once in main() before threads start.
 */
#ifndef RMMHUNT_BASE_LOG_H
#define RMMHUNT_BASE_LOG_H

#include <stdbool.h>

/* The syslog severities (their numbers are what "<N>" carries). */
enum log_level {
	LOG_LEVEL_ERROR = 3,
	LOG_LEVEL_WARNING = 4,
	LOG_LEVEL_NOTICE = 5,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

/*
 * program: the name in front of each line ("rmmhunt-agent").  threshold:
 * messages of a higher number (less severe) are dropped.  Detects the
 * journal from JOURNAL_STREAM.  Before any call, messages go out as
 * "rmmhunt: ..." at threshold LOG_LEVEL_INFO.
 */
void log_configure(const char *program, enum log_level threshold);

/*
 * Change the name in front of each line only (a command that dispatches to
 * a subcommand: "rmmhunt query"); the threshold and the journal stay.
 */
void log_set_program(const char *program);

/* Parses "error", "warning", "notice", "info", "debug"; -EINVAL otherwise. */
int log_level_parse(const char *text, enum log_level *level);

/* Is a message at level written (so a caller can skip costly formatting)? */
bool log_enabled(enum log_level level);

void log_message(enum log_level level, const char *format, ...)
	__attribute__((format(printf, 2, 3)));
void log_error(const char *format, ...) __attribute__((format(printf, 1, 2)));
void log_warning(const char *format, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *format, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *format, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *format, ...) __attribute__((format(printf, 1, 2)));

/*
 * A message of several lines: a first line, then a quoted source line and a
 * caret under the spot (kql_error_format(), rule_error_text()).  The first
 * line is written as any message; the others under it as they are, without
 * the program's name, so columns line up ("<N>" in front of each under the
 * journal).  Controls other than the line breaks are escaped as above; each
 * line is one write(2).  A final line break adds no empty line.
 */
void log_lines(enum log_level level, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

#endif
