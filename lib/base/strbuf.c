/*
 * strbuf.c - growable NUL-terminated byte strings.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/array.h"
#include "base/strbuf.h"

/* bytes asked of read(2) at a time */
#define READ_CHUNK ((size_t)64 * 1024)

void strbuf_init(struct strbuf *buffer)
{
	buffer->data = NULL;
	buffer->length = 0;
	buffer->capacity = 0;
	buffer->failed = false;
}

void strbuf_free(struct strbuf *buffer)
{
	free(buffer->data);
	strbuf_init(buffer);
}

void strbuf_clear(struct strbuf *buffer)
{
	buffer->length = 0;
	buffer->failed = false;
	if (buffer->data)
		buffer->data[0] = '\0';
}

bool strbuf_reserve(struct strbuf *buffer, size_t extra)
{
	char *data;

	if (buffer->failed)
		return false;
	if (buffer->data && extra < buffer->capacity - buffer->length)
		return true; /* room already: every append of every record asks */
	if (extra >= SIZE_MAX - buffer->length) {
		buffer->failed = true;
		return false;
	}
	data = array_reserve(buffer->data, &buffer->capacity, buffer->length + extra + 1, 64, 1);
	if (!data) {
		buffer->failed = true;
		return false;
	}
	buffer->data = data;
	return true;
}

void strbuf_append(struct strbuf *buffer, const char *data, size_t length)
{
	if (!strbuf_reserve(buffer, length))
		return;
	if (length)
		memcpy(buffer->data + buffer->length, data, length);
	buffer->length += length;
	buffer->data[buffer->length] = '\0';
}

void strbuf_append_string(struct strbuf *buffer, const char *string)
{
	strbuf_append(buffer, string, strlen(string));
}

void strbuf_appendf(struct strbuf *buffer, const char *format, ...)
{
	va_list arguments, again;
	int needed;

	va_start(arguments, format);
	va_copy(again, arguments);
	needed = vsnprintf(NULL, 0, format, arguments);
	if (needed >= 0 && strbuf_reserve(buffer, (size_t)needed)) {
		vsnprintf(buffer->data + buffer->length, (size_t)needed + 1,
			  format, again);
		buffer->length += (size_t)needed;
	}
	va_end(again);
	va_end(arguments);
}

const char *strbuf_text(const struct strbuf *buffer)
{
	return buffer->data ? buffer->data : "";
}

int strbuf_read_fd(struct strbuf *buffer, int fd, size_t max)
{
	size_t taken = 0;

	if (!strbuf_reserve(buffer, 0))
		return -ENOMEM;
	buffer->data[buffer->length] = '\0';
	for (;;) {
		size_t room = max - taken;
		/* one byte past max, to tell a file of max bytes from a longer one */
		size_t want = room < READ_CHUNK ? room + 1 : READ_CHUNK;
		ssize_t got;

		if (!strbuf_reserve(buffer, want))
			return -ENOMEM;
		got = read(fd, buffer->data + buffer->length, want);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			return 0;
		if ((size_t)got > room) {
			buffer->length += room;
			buffer->data[buffer->length] = '\0';
			return -EFBIG;
		}
		taken += (size_t)got;
		buffer->length += (size_t)got;
		buffer->data[buffer->length] = '\0';
	}
}

int strbuf_read_file(struct strbuf *buffer, const char *path, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int result;

	if (fd < 0)
		return -errno;
	result = strbuf_read_fd(buffer, fd, max);
	close(fd);
	return result;
}
