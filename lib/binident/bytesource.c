/*
 * bytesource.c - bounded reads from an fd (pread) or a memory buffer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "binident/bytesource.h"

void byte_source_buffer(struct byte_source *source, const void *data, size_t size)
{
	source->data = data;
	source->fd = -1;
	source->size = data ? size : 0;
	source->cache = NULL;
}

int byte_source_fd(struct byte_source *source, int fd)
{
	struct stat status;

	if (fstat(fd, &status) < 0)
		return -errno;
	if (S_ISDIR(status.st_mode))
		return -EISDIR;
	if (!S_ISREG(status.st_mode) && !S_ISBLK(status.st_mode))
		return -EINVAL;
	source->data = NULL;
	source->fd = fd;
	source->size = status.st_size > 0 ? (uint64_t)status.st_size : 0;
	source->cache = calloc(1, sizeof(*source->cache));
	return source->cache ? 0 : -ENOMEM;
}

void byte_source_close(struct byte_source *source)
{
	free(source->cache);
	source->cache = NULL;
}

uint64_t byte_source_available(const struct byte_source *source, uint64_t offset)
{
	return offset < source->size ? source->size - offset : 0;
}

static int read_fd_fully(int fd, uint64_t offset, unsigned char *out, size_t length)
{
	while (length > 0) {
		ssize_t got = pread(fd, out, length, (off_t)offset);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			return -ERANGE;
		out += got;
		offset += (uint64_t)got;
		length -= (size_t)got;
	}
	return 0;
}

/*
 * Serve a read that lies inside one aligned block from the cache, loading
 * the block into the slot not used last.  Returns 1 when served, 0 when the
 * read is not cacheable, or a negative errno.
 */
static int read_cached(const struct byte_source *source, uint64_t offset, void *out,
		       size_t length)
{
	struct byte_source_cache *cache = source->cache;
	uint64_t block = offset - offset % BYTE_SOURCE_BLOCK;
	unsigned slot;

	if (!cache || offset + length > block + BYTE_SOURCE_BLOCK)
		return 0;
	for (slot = 0; slot < 2; slot++) {
		if (cache->length[slot] > 0 && cache->offset[slot] == block)
			break;
	}
	if (slot == 2) {
		uint64_t available = byte_source_available(source, block);
		size_t size = available < BYTE_SOURCE_BLOCK ? (size_t)available : BYTE_SOURCE_BLOCK;
		int result;

		slot = 1 - cache->last_used;
		cache->length[slot] = 0;
		result = read_fd_fully(source->fd, block, cache->block[slot], size);
		if (result < 0)
			return result;
		cache->offset[slot] = block;
		cache->length[slot] = size;
	}
	if (offset + length > block + cache->length[slot])
		return -ERANGE;
	cache->last_used = slot;
	memcpy(out, cache->block[slot] + (offset - block), length);
	return 1;
}

int byte_source_read(const struct byte_source *source, uint64_t offset,
		     void *out, size_t length)
{
	int result;

	if (length == 0)
		return 0;
	if (byte_source_available(source, offset) < length)
		return -ERANGE;
	if (source->data) {
		memcpy(out, source->data + offset, length);
		return 0;
	}
	result = read_cached(source, offset, out, length);
	if (result != 0)
		return result < 0 ? result : 0;
	return read_fd_fully(source->fd, offset, out, length);
}

uint16_t load_le16(const unsigned char *bytes)
{
	return (uint16_t)(bytes[0] | (unsigned)bytes[1] << 8);
}

uint32_t load_le32(const unsigned char *bytes)
{
	return (uint32_t)bytes[0] | (uint32_t)bytes[1] << 8 |
	       (uint32_t)bytes[2] << 16 | (uint32_t)bytes[3] << 24;
}

uint64_t load_le64(const unsigned char *bytes)
{
	return (uint64_t)load_le32(bytes) | (uint64_t)load_le32(bytes + 4) << 32;
}
