/*
 * error.c - KQL errors: filling them in, and printing them with the source
 * line and a caret under the spot.
 *
 * Positions are kept as byte offsets while compiling; the line and column
 * (in UTF-8 characters, so a caret after 'OÜ' still lines up) are computed
 * when the error is set, from the text the lexer was given.  A source line
 * longer than about 180 bytes is shown cut around the spot, marked with '…'.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kql/internal.h"

const char *kql_error_kind_name(enum kql_error_kind kind)
{
	switch (kind) {
	case KQL_ERROR_NONE:
		return "ok";
	case KQL_ERROR_SYNTAX:
		return "syntax error";
	case KQL_ERROR_NAME:
		return "unknown name";
	case KQL_ERROR_TYPE:
		return "type error";
	case KQL_ERROR_UNSUPPORTED_TABLE:
		return "unsupported table";
	case KQL_ERROR_UNSUPPORTED:
		return "unsupported";
	case KQL_ERROR_RUNTIME:
		return "runtime error";
	case KQL_ERROR_NOMEM:
		return "out of memory";
	}
	return "error";
}

void kql_error_set_message(struct kql_error *error, enum kql_error_kind kind, size_t offset,
		       const char *message)
{
	if (!error || error->kind != KQL_ERROR_NONE)
		return; /* the first error wins */
	error->kind = kind;
	error->offset = offset;
	error->line = 0;
	error->column = 0;
	snprintf(error->message, sizeof(error->message), "%s", message);
}

void kql_error_set(struct kql_error *error, enum kql_error_kind kind, size_t offset,
	       const char *format, ...)
{
	char message[sizeof(error->message)];
	va_list args;

	va_start(args, format);
	vsnprintf(message, sizeof(message), format, args);
	va_end(args);
	kql_error_set_message(error, kind, offset, message);
}

static bool is_continuation(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

/* How much of a long source line the formatted error shows around the spot. */
#define LINE_BEFORE 100
#define LINE_AFTER 60
#define LINE_SLACK 20

/* Line and column (characters) of offset in text. */
static void locate(const char *text, size_t length, size_t offset, unsigned *line,
		   unsigned *column)
{
	unsigned current_line = 1;
	unsigned current_column = 1;

	if (offset > length)
		offset = length;
	for (size_t i = 0; i < offset; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '\n') {
			current_line++;
			current_column = 1;
		} else if (!is_continuation(c) && c != '\r') {
			current_column++;
		}
	}
	*line = current_line;
	*column = current_column;
}

void kql_error_locate(struct kql_error *error, const char *text, size_t length)
{
	if (error && error->kind != KQL_ERROR_NONE && error->line == 0 &&
	    error->kind != KQL_ERROR_NOMEM)
		locate(text, length, error->offset, &error->line, &error->column);
}

char *kql_error_format(const struct kql_error *error, const char *text, size_t length,
		       const char *origin)
{
	char *output = NULL;
	size_t output_size = 0;
	FILE *out = open_memstream(&output, &output_size);

	if (!out)
		return NULL;
	if (!origin)
		origin = "query";
	if (error->line == 0 || !text) {
		fprintf(out, "%s: %s: %s\n", origin, kql_error_kind_name(error->kind),
			error->message);
	} else {
		fprintf(out, "%s:%u:%u: %s: %s\n", origin, error->line, error->column,
			kql_error_kind_name(error->kind), error->message);
		size_t offset = error->offset > length ? length : error->offset;
		size_t start = offset;

		while (start > 0 && text[start - 1] != '\n')
			start--;
		size_t end = offset;

		while (end < length && text[end] != '\n' && text[end] != '\r')
			end++;
		/* a very long line (a generated query) is cut around the spot */
		bool cut_start = offset - start > LINE_BEFORE + LINE_SLACK;
		bool cut_end = end - offset > LINE_AFTER + LINE_SLACK;

		if (cut_start) {
			start = offset - LINE_BEFORE;
			while (start < offset && is_continuation((unsigned char)text[start]))
				start++;
		}
		if (cut_end) {
			end = offset + LINE_AFTER;
			while (end > offset && is_continuation((unsigned char)text[end]))
				end--;
		}
		fprintf(out, "    %s%.*s%s\n    %s", cut_start ? "…" : "", (int)(end - start),
			text + start, cut_end ? "…" : "", cut_start ? " " : "");
		for (size_t i = start; i < offset; i++) {
			unsigned char c = (unsigned char)text[i];

			if (c == '\t')
				fputc('\t', out);
			else if (!is_continuation(c) && c != '\r')
				fputc(' ', out);
		}
		fputs("^\n", out);
	}
	if (fclose(out) != 0) {
		free(output);
		return NULL;
	}
	return output;
}
