/*
 * bytesource.h - bounded random reads from a file descriptor or a buffer.
 *
 * The binary readers (PE headers, resource tree, version blob, file type
 * sniffing) read a few small ranges of a file, never the whole of it: the
 * agent hands them an open fd of /proc/PID/exe, `rmmhunt inspect` an fd of a
 * path, the fuzzers and unit tests a memory buffer.  A byte_source hides the
 * difference.  Reads are all-or-nothing: a range that does not lie entirely
 * inside the file fails with -ERANGE, so a reader never sees half-filled
 * structures.  fd reads use pread and leave the fd's offset alone; small
 * reads are served from two cached 4 KiB blocks, because the readers ask
 * for many small neighbouring structures (headers, resource directories).
 */
#ifndef RMMHUNT_BYTESOURCE_H
#define RMMHUNT_BYTESOURCE_H

#include <stddef.h>
#include <stdint.h>

#define BYTE_SOURCE_BLOCK 4096

struct byte_source_cache {
	uint64_t offset[2];         /* block-aligned file offset of each block */
	size_t length[2];           /* bytes valid; 0 when the slot is empty */
	unsigned last_used;         /* the slot read most recently */
	unsigned char block[2][BYTE_SOURCE_BLOCK];
};

struct byte_source {
	const unsigned char *data;  /* the buffer; NULL when reading fd */
	int fd;                     /* -1 for a buffer */
	uint64_t size;              /* bytes in the file or buffer */
	struct byte_source_cache *cache;  /* fd only; NULL: no caching */
};

/* A source over a caller-owned buffer that outlives the source. */
void byte_source_buffer(struct byte_source *source, const void *data, size_t size);

/*
 * A source over an open fd (not owned: the caller closes it).  The size is
 * taken from fstat now.  Returns 0, -EISDIR for a directory, -EINVAL for
 * anything that is not a regular file or block device, -ENOMEM, or -errno.
 * Release with byte_source_close().
 */
int byte_source_fd(struct byte_source *source, int fd);

/* Free the source's cache (not its fd or buffer). */
void byte_source_close(struct byte_source *source);

/*
 * Copy length bytes at offset into out.  Returns 0; -ERANGE when the range
 * does not lie inside the source (also when the file shrank under us); or a
 * negative errno from pread.
 */
int byte_source_read(const struct byte_source *source, uint64_t offset,
		     void *out, size_t length);

/* How many bytes exist from offset to the end (0 when offset is past it). */
uint64_t byte_source_available(const struct byte_source *source, uint64_t offset);

/* Little-endian loads from a byte array (no alignment needed). */
uint16_t load_le16(const unsigned char *bytes);
uint32_t load_le32(const unsigned char *bytes);
uint64_t load_le64(const unsigned char *bytes);

#endif
