/*
 * config_file.c - split a `key = value` file into entries (config_file.h).
 *
 * One line at a time: blanks trimmed, comments and empty lines skipped, the
 * key checked, the value unquoted.  The first problem stops the parse and
 * is reported with its line; nothing is guessed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config_file.h"
#include "base/strbuf.h"

static int fail(struct config_error *error, unsigned line, int code, const char *format, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct config_error *error, unsigned line, int code, const char *format, ...)
{
	va_list arguments;

	error->line = line;
	va_start(arguments, format);
	vsnprintf(error->message, sizeof(error->message), format, arguments);
	va_end(arguments);
	return code;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* [start, end) without the blanks around it. */
static void trim(const char **start, const char **end)
{
	while (*start < *end && is_blank(**start))
		(*start)++;
	while (*end > *start && is_blank((*end)[-1]))
		(*end)--;
}

/* A '#' after a blank starts a comment; outside quotes only. */
static const char *value_end(const char *start, const char *end)
{
	if (start < end && *start == '"')
		return end;
	for (const char *c = start; c < end; c++)
		if (*c == '#' && c > start && is_blank(c[-1]))
			return c;
	return end;
}

static int add_entry(struct config_file *config, size_t *capacity, const char *key,
		     size_t key_length, const char *value, size_t value_length, unsigned line)
{
	struct config_entry *entry;

	if (config->count == *capacity) {
		size_t grown = *capacity ? *capacity * 2 : 16;
		struct config_entry *entries = realloc(config->entries, grown * sizeof(*entries));

		if (!entries)
			return -ENOMEM;
		config->entries = entries;
		*capacity = grown;
	}
	entry = &config->entries[config->count];
	entry->key = strndup(key, key_length);
	entry->value = strndup(value, value_length);
	entry->line = line;
	if (!entry->key || !entry->value) {
		free(entry->key);
		free(entry->value);
		return -ENOMEM;
	}
	config->count++;
	return 0;
}

/* The value between start and end, unquoted when it is quoted. */
static int take_value(const char **start, const char **end, const char *key,
		      size_t key_length, unsigned line, struct config_error *error)
{
	if (*start == *end || **start != '"')
		return 0;
	const char *closing = memchr(*start + 1, '"', (size_t)(*end - *start - 1));

	if (!closing)
		return fail(error, line, -EINVAL, "key '%.*s': the value's quote is not closed",
			    (int)key_length, key);
	const char *after = closing + 1;

	while (after < *end && is_blank(*after))
		after++;
	if (after < *end && *after != '#')
		return fail(error, line, -EINVAL,
			    "key '%.*s': text after the closing quote (a quote inside a quoted "
			    "value is not allowed)", (int)key_length, key);
	(*start)++;
	*end = closing;
	return 0;
}

static int parse_line(struct config_file *config, size_t *capacity, const char *start,
		      const char *end, unsigned line, struct config_error *error)
{
	const char *equals, *key_end, *value, *value_stop;

	trim(&start, &end);
	if (start == end || *start == '#' || *start == ';')
		return 0;
	equals = memchr(start, '=', (size_t)(end - start));
	if (!equals)
		return fail(error, line, -EINVAL, "expected 'key = value', not '%.*s'",
			    (int)(end - start > 60 ? 60 : end - start), start);
	key_end = equals;
	trim(&start, &key_end);
	if (start == key_end)
		return fail(error, line, -EINVAL, "a value without a key");
	for (const char *c = start; c < key_end; c++)
		if (!is_key_char(*c))
			return fail(error, line, -EINVAL,
				    "key '%.*s': a key is lower-case letters, digits, '-' and '_'",
				    (int)(key_end - start > 60 ? 60 : key_end - start), start);
	if (key_end - start > CONFIG_KEY_MAX)
		return fail(error, line, -EINVAL, "key '%.60s...' is too long", start);
	value = equals + 1;
	value_stop = end;
	trim(&value, &value_stop);
	value_stop = value_end(value, value_stop);
	trim(&value, &value_stop);
	if (take_value(&value, &value_stop, start, (size_t)(key_end - start), line, error))
		return -EINVAL;
	if (add_entry(config, capacity, start, (size_t)(key_end - start), value,
		      (size_t)(value_stop - value), line))
		return fail(error, line, -ENOMEM, "out of memory");
	return 0;
}

int config_file_parse(const char *text, size_t length, struct config_file *config,
		      struct config_error *error)
{
	size_t capacity = 0;
	unsigned line = 1;
	const char *cursor = text, *end = text + length;
	int result = 0;

	memset(config, 0, sizeof(*config));
	memset(error, 0, sizeof(*error));
	if (length > CONFIG_FILE_MAX_BYTES)
		return fail(error, 0, -EFBIG, "larger than %d bytes: not a configuration file",
			    CONFIG_FILE_MAX_BYTES);
	if (memchr(text, '\0', length)) {
		const char *nul = memchr(text, '\0', length);

		for (const char *c = text; c < nul; c++)
			line += *c == '\n';
		return fail(error, line, -EINVAL, "a NUL byte: not a text file");
	}
	while (cursor < end && result == 0) {
		const char *newline = memchr(cursor, '\n', (size_t)(end - cursor));
		const char *stop = newline ? newline : end;

		result = parse_line(config, &capacity, cursor, stop, line, error);
		cursor = newline ? newline + 1 : end;
		line++;
	}
	if (result)
		config_file_free(config);
	return result;
}

int config_file_load(const char *path, struct config_file *config, struct config_error *error)
{
	struct strbuf text;
	int result;

	memset(config, 0, sizeof(*config));
	memset(error, 0, sizeof(*error));
	strbuf_init(&text);
	result = strbuf_read_file(&text, path, CONFIG_FILE_MAX_BYTES);
	if (result == -EFBIG)
		fail(error, 0, result, "larger than %d bytes: not a configuration file",
		     CONFIG_FILE_MAX_BYTES);
	else if (result)
		fail(error, 0, result, "%s", strerror(-result));
	else
		result = config_file_parse(text.data, text.length, config, error);
	strbuf_free(&text);
	return result;
}

void config_file_free(struct config_file *config)
{
	for (size_t i = 0; i < config->count; i++) {
		free(config->entries[i].key);
		free(config->entries[i].value);
	}
	free(config->entries);
	config->entries = NULL;
	config->count = 0;
}
