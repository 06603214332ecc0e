/*
 * state_file.c - write-fsync-rename of small state files (see state_file.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/state_file.h"
#include "base/strbuf.h"

#define PATH_BYTES 4096

static int write_all(int fd, const char *data, size_t length)
{
	while (length > 0) {
		ssize_t written = write(fd, data, length);

		if (written < 0 && errno == EINTR)
			continue;
		if (written <= 0)
			return written < 0 ? -errno : -EIO;
		data += written;
		length -= (size_t)written;
	}
	return 0;
}

/* The rename is durable once the directory that holds it is. */
static int sync_directory(const char *path)
{
	char copy[PATH_BYTES];
	int fd, result = 0;

	snprintf(copy, sizeof(copy), "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		result = -errno;
	close(fd);
	return result;
}

/* NAME.tmp, the file a new version of NAME is written to: 0 or
 * -ENAMETOOLONG. */
static int temporary_of(const char *path, char temporary[PATH_BYTES])
{
	return snprintf(temporary, PATH_BYTES, "%s.tmp", path) >= PATH_BYTES ? -ENAMETOOLONG : 0;
}

int state_file_write(const char *path, const void *data, size_t length)
{
	char temporary[PATH_BYTES];
	int fd, result;

	if (temporary_of(path, temporary) != 0)
		return -ENAMETOOLONG;
	/* a file of our own, never one a planted link points at */
	unlink(temporary);
	fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	result = write_all(fd, data, length);
	if (result == 0 && fsync(fd) != 0)
		result = -errno;
	if (close(fd) != 0 && result == 0)
		result = -errno;
	if (result == 0 && rename(temporary, path) != 0)
		result = -errno;
	if (result) {
		unlink(temporary);
		return result;
	}
	return sync_directory(path);
}

/* NAME.tmp opened for writing if it is a file of our own, else made anew;
 * a planted link is never followed. */
static int open_own_temporary(const char *temporary)
{
	struct stat status;
	int fd = open(temporary, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0 && fstat(fd, &status) == 0 && S_ISREG(status.st_mode) &&
	    status.st_uid == geteuid() && status.st_nlink == 1 && (status.st_mode & 0077) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	unlink(temporary);
	fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

int state_file_publish(const char *path, const void *data, size_t length)
{
	char temporary[PATH_BYTES];
	int fd, result;

	if (temporary_of(path, temporary) != 0)
		return -ENAMETOOLONG;
	fd = open_own_temporary(temporary);
	if (fd < 0)
		return fd;
	/* in place, cut to length: a truncation to 0 would make ext4 flush
	 * the file at close */
	result = write_all(fd, data, length);
	if (result == 0 && ftruncate(fd, (off_t)length) != 0)
		result = -errno;
	if (close(fd) != 0 && result == 0)
		result = -errno;
	if (result)
		return result;
	if (renameat2(AT_FDCWD, temporary, AT_FDCWD, path, RENAME_EXCHANGE) == 0)
		return 0;
	/* no NAME yet, or a file system that cannot exchange */
	return rename(temporary, path) == 0 ? 0 : -errno;
}

int state_file_read(const char *path, size_t max_length, char **text, size_t *length)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat status;
	char *buffer;
	size_t got = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &status) != 0) {
		int result = -errno;

		close(fd);
		return result;
	}
	if (!S_ISREG(status.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if ((size_t)status.st_size > max_length) {
		close(fd);
		return -EFBIG;
	}
	buffer = malloc(max_length + 1);
	if (!buffer) {
		close(fd);
		return -ENOMEM;
	}
	while (got <= max_length) {
		ssize_t chunk = read(fd, buffer + got, max_length + 1 - got);

		if (chunk < 0 && errno == EINTR)
			continue;
		if (chunk <= 0)
			break;
		got += (size_t)chunk;
	}
	close(fd);
	if (got > max_length) {
		free(buffer);
		return -EFBIG;
	}
	buffer[got] = '\0';
	*text = buffer;
	*length = got;
	return 0;
}

int state_file_load(const char *path, size_t max_length, state_file_parser parse, void *out,
		    char *message, size_t message_size)
{
	char *text = NULL;
	size_t length = 0;
	int result = state_file_read(path, max_length, &text, &length);

	if (result == -ENOENT)
		return 1;
	if (result) {
		snprintf(message, message_size, "%s", strerror(-result));
		return result;
	}
	result = parse(text, length, out, message, message_size);
	free(text);
	return result;
}

int state_file_save(const char *path, state_file_formatter format, const void *object)
{
	struct strbuf text;
	int result;

	strbuf_init(&text);
	format(object, &text);
	result = text.failed ? -ENOMEM : state_file_write(path, text.data, text.length);
	strbuf_free(&text);
	return result;
}
