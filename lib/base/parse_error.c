/*
 * parse_error.c - filling the error object shared by the file readers.
 */
#include <stdarg.h>
#include <stdio.h>

#include "base/parse_error.h"

int parse_error_set(struct parse_error *error, int code, const char *format, ...)
{
	va_list arguments;

	if (!error || error->code != 0)
		return code;
	error->code = code;
	va_start(arguments, format);
	/* The analyzer misreads _FORTIFY_SOURCE's __vsnprintf_chk: va_start is above. */
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
	vsnprintf(error->message, sizeof(error->message), format, arguments);
	va_end(arguments);
	return code;
}

void parse_error_clear(struct parse_error *error)
{
	if (!error)
		return;
	error->code = 0;
	error->message[0] = '\0';
}
