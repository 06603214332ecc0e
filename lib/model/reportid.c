/*
 * reportid.c - the persisted ReportId counter.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/state_file.h"
#include "model/reportid.h"

static int read_counter(const char *path, int64_t *value)
{
	char text[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	ssize_t got;
	char *end;

	if (fd < 0)
		return errno == ENOENT ? 1 : -errno;
	got = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (got <= 0)
		return -EINVAL;
	text[got] = '\0';
	errno = 0;
	long long number = strtoll(text, &end, 10);
	if (errno || end == text || (*end != '\n' && *end != '\0') || number < 1)
		return -EINVAL;
	*value = number;
	return 0;
}

static int write_counter(const char *path, int64_t value)
{
	char text[32];
	int length = snprintf(text, sizeof(text), "%" PRId64 "\n", value);

	return state_file_write(path, text, (size_t)length);
}

static int reserve_block(struct report_ids *ids)
{
	int64_t end = ids->next + ids->block_size;
	int result = write_counter(ids->path, end);

	if (result < 0)
		return result;
	ids->reserved_end = end;
	return 0;
}

int report_ids_open(struct report_ids *ids, const char *state_dir,
		    int64_t block_size)
{
	size_t size = strlen(state_dir) + sizeof("/reportid");
	int result;

	memset(ids, 0, sizeof(*ids));
	ids->path = malloc(size);
	if (!ids->path)
		return -ENOMEM;
	snprintf(ids->path, size, "%s/reportid", state_dir);
	ids->block_size = block_size > 0 ? block_size : 1024;
	ids->next = 1;
	result = read_counter(ids->path, &ids->next);
	if (result < 0) {
		report_ids_close(ids);
		return result;
	}
	ids->reserved_end = ids->next;
	return 0;
}

int64_t report_ids_next(struct report_ids *ids)
{
	if (ids->next >= ids->reserved_end) {
		int result = reserve_block(ids);

		if (result < 0)
			return result;
	}
	return ids->next++;
}

void report_ids_close(struct report_ids *ids)
{
	free(ids->path);
	ids->path = NULL;
}
