/*
 * log.c - leveled diagnostics (see log.h).
 *
 * A message is formatted into a stack buffer (long ones are cut with "..."),
 * control characters escaped, the prefix added, and the line written to
 * stderr with one write(2).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/text.h"

#define LOG_LINE_MAX 4096

struct log_config {
	const char *program;
	enum log_level threshold;
	bool journal;
};

static struct log_config config = {"rmmhunt", LOG_LEVEL_INFO, false};

/* Is stderr the stream JOURNAL_STREAM ("device:inode") names? */
static bool stderr_is_journal(void)
{
	const char *stream = getenv("JOURNAL_STREAM");
	unsigned long long device, inode;
	struct stat status;

	if (!stream || sscanf(stream, "%llu:%llu", &device, &inode) != 2)
		return false;
	if (fstat(STDERR_FILENO, &status) != 0)
		return false;
	return (unsigned long long)status.st_dev == device &&
	       (unsigned long long)status.st_ino == inode;
}

void log_set_program(const char *program)
{
	config.program = program;
}

void log_configure(const char *program, enum log_level threshold)
{
	config.program = program;
	config.threshold = threshold;
	config.journal = stderr_is_journal();
}

int log_level_parse(const char *text, enum log_level *level)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {
		{"error", LOG_LEVEL_ERROR},   {"warning", LOG_LEVEL_WARNING},
		{"notice", LOG_LEVEL_NOTICE}, {"info", LOG_LEVEL_INFO},
		{"debug", LOG_LEVEL_DEBUG},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(text, names[i].name) == 0) {
			*level = names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

bool log_enabled(enum log_level level)
{
	return level <= config.threshold;
}

static const char *level_word(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_WARNING:
		return "warning: ";
	case LOG_LEVEL_DEBUG:
		return "debug: ";
	default:
		return "";
	}
}

/* Appends text (length bytes) to line (at *used, capacity size) with
 * controls escaped (text.h; a tab stays a tab). */
static void append_escaped(char *line, size_t *used, size_t size, const char *text,
			   size_t length)
{
	size_t position = 0;

	while (position < length) {
		char escape[TEXT_ESCAPE_MAX];
		size_t consumed = 1, escape_length = 0;
		const char *shown = text + position;

		if (text[position] != '\t')
			escape_length = text_escape_step(text + position, length - position,
							 TEXT_ESCAPE_DISPLAY, &consumed, escape);
		if (escape_length)
			shown = escape;
		else
			escape_length = consumed;
		if (*used + escape_length + 1 >= size)
			return;
		memcpy(line + *used, shown, escape_length);
		*used += escape_length;
		position += consumed;
	}
}

/*
 * Write one line: the prefix (the journal's "<N>"; else the program's name,
 * unless it continues a message of several lines), text escaped, '\n'.
 */
static void write_line(enum log_level level, bool continued, const char *text,
		       size_t length)
{
	char line[TEXT_ESCAPE_MAX * LOG_LINE_MAX + 64]; /* room for every byte escaped */
	size_t used;
	int written;

	if (config.journal)
		written = snprintf(line, sizeof(line), "<%d>", (int)level);
	else if (continued)
		written = 0;
	else
		written = snprintf(line, sizeof(line), "%s: %s", config.program,
				   level_word(level));
	if (written < 0 || (size_t)written >= sizeof(line))
		return;
	used = (size_t)written;
	if (length > LOG_LINE_MAX) { /* cut, and say so */
		append_escaped(line, &used, sizeof(line) - 1, text, LOG_LINE_MAX - 3);
		append_escaped(line, &used, sizeof(line) - 1, "...", 3);
	} else {
		append_escaped(line, &used, sizeof(line) - 1, text, length);
	}
	line[used++] = '\n';
	/* one write: whole lines even with several threads logging */
	if (write(STDERR_FILENO, line, used) < 0)
		return;
}

static void log_write(enum log_level level, const char *format, va_list arguments)
{
	char text[LOG_LINE_MAX + 1];
	int length;

	if (!log_enabled(level))
		return;
	length = vsnprintf(text, sizeof(text), format, arguments);
	if (length < 0)
		return;
	/* a longer text is cut; write_line() sees it over the limit and says so */
	write_line(level, false, text,
		   (size_t)length > LOG_LINE_MAX ? LOG_LINE_MAX + 1 : (size_t)length);
}

void log_lines(enum log_level level, const char *format, ...)
{
	va_list arguments;
	char *text = NULL;
	const char *line;
	int length;

	if (!log_enabled(level))
		return;
	va_start(arguments, format);
	length = vasprintf(&text, format, arguments);
	va_end(arguments);
	if (length < 0)
		return;
	line = text;
	for (bool continued = false; *line || !continued; continued = true) {
		const char *end = strchr(line, '\n');
		size_t line_length = end ? (size_t)(end - line) : strlen(line);

		write_line(level, continued, line, line_length);
		if (!end)
			break;
		line = end + 1;
	}
	free(text);
}

void log_message(enum log_level level, const char *format, ...)
{
	va_list arguments;

	va_start(arguments, format);
	log_write(level, format, arguments);
	va_end(arguments);
}

void log_error(const char *format, ...)
{
	va_list arguments;

	va_start(arguments, format);
	log_write(LOG_LEVEL_ERROR, format, arguments);
	va_end(arguments);
}

void log_warning(const char *format, ...)
{
	va_list arguments;

	va_start(arguments, format);
	log_write(LOG_LEVEL_WARNING, format, arguments);
	va_end(arguments);
}

void log_notice(const char *format, ...)
{
	va_list arguments;

	va_start(arguments, format);
	log_write(LOG_LEVEL_NOTICE, format, arguments);
	va_end(arguments);
}

void log_info(const char *format, ...)
{
	va_list arguments;

	va_start(arguments, format);
	log_write(LOG_LEVEL_INFO, format, arguments);
	va_end(arguments);
}

void log_debug(const char *format, ...)
{
	va_list arguments;

	va_start(arguments, format);
	log_write(LOG_LEVEL_DEBUG, format, arguments);
	va_end(arguments);
}
