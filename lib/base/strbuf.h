/*
 * strbuf.h - a growable byte string.
 *
 * Used wherever text is assembled piece by piece (command lines, paths,
 * JSON lines).  The content is always NUL-terminated; on allocation failure
 * the buffer remembers it (failed) and later appends do nothing, so callers
 * check once at the end.
 */
#ifndef RMMHUNT_STRBUF_H
#define RMMHUNT_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *data;
	size_t length;
	size_t capacity;
	bool failed;
};

void strbuf_init(struct strbuf *buffer);
void strbuf_free(struct strbuf *buffer);
void strbuf_clear(struct strbuf *buffer);
void strbuf_append(struct strbuf *buffer, const char *data, size_t length);
void strbuf_append_string(struct strbuf *buffer, const char *string);
/* Room for extra more bytes (and the NUL); false when out of memory. */
bool strbuf_reserve(struct strbuf *buffer, size_t extra);

/* One byte; the common case (room left) stays inline. */
static inline void strbuf_append_char(struct strbuf *buffer, char c)
{
	if (buffer->length + 1 >= buffer->capacity && !strbuf_reserve(buffer, 1))
		return;
	buffer->data[buffer->length++] = c;
	buffer->data[buffer->length] = '\0';
}
void strbuf_appendf(struct strbuf *buffer, const char *format, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * Append what fd reads until its end, at most max bytes (SIZE_MAX: no
 * limit).  Returns 0; -EFBIG when there was more than max (the first max
 * bytes are appended); -ENOMEM; or the -errno of a failed read.  Whatever
 * it returns, the bytes read so far are in buffer, and after 0 or -EFBIG
 * data is never NULL (an empty file gives "").
 */
int strbuf_read_fd(struct strbuf *buffer, int fd, size_t max);
/* The same for the file at path (-errno when it cannot be opened). */
int strbuf_read_file(struct strbuf *buffer, const char *path, size_t max);
/* The text, or "" if nothing was appended. */
const char *strbuf_text(const struct strbuf *buffer);

#endif
