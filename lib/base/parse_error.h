/*
 * parse_error.h - the error object of rmmhunt's readers of untrusted files.
 *
 * The PE, ELF and Go build-info readers return a negative errno; when the
 * caller passes a parse_error they also say, in one sentence, what was wrong
 * and where ("section table at 0x1f8 runs past the end of the file").  The
 * caller prints the message next to the file's name; library code never
 * prints or exits.
 */
#ifndef RMMHUNT_PARSE_ERROR_H
#define RMMHUNT_PARSE_ERROR_H

struct parse_error {
	int code;           /* the negative errno returned, 0 when none */
	char message[200];  /* NUL-terminated, empty when none */
};

/*
 * Record an error and return code (a negative errno), so that readers can
 * write `return parse_error_set(error, -EBADMSG, "...", ...)`.  error may be
 * NULL.  Keeps the first error recorded: later calls only return code.
 */
int parse_error_set(struct parse_error *error, int code, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

/* Clear an error object (error may be NULL). */
void parse_error_clear(struct parse_error *error);

#endif
