/*
 * filehash.h - SHA-1, SHA-256 and MD5 of a file in one pass.
 *
 * The agent hashes every executable it sees and `rmmhunt inspect` hashes the
 * files it is given; both read the file once and feed the three digests from
 * the same buffer (OpenSSL EVP).  Digests come back as lower-case hex, the way
 * Defender writes them.
 */
#ifndef RMMHUNT_FILEHASH_H
#define RMMHUNT_FILEHASH_H

#include <stdint.h>

#define FILEHASH_SHA1_HEX 41
#define FILEHASH_SHA256_HEX 65
#define FILEHASH_MD5_HEX 33

struct file_hashes {
	char sha1[FILEHASH_SHA1_HEX];
	char sha256[FILEHASH_SHA256_HEX];
	char md5[FILEHASH_MD5_HEX];
	int64_t bytes; /* bytes hashed */
};

/*
 * Hash the open file fd from offset 0 to its end, reading with pread so the
 * fd's offset is left alone.  Stops with -EFBIG once more than max_bytes
 * have been read (max_bytes <= 0: no limit).  Returns 0, or a negative errno
 * (-EIO for an OpenSSL failure).
 */
int filehash_fd(int fd, int64_t max_bytes, struct file_hashes *out);

/* Same for a path (opened O_RDONLY|O_CLOEXEC). */
int filehash_path(const char *path, int64_t max_bytes, struct file_hashes *out);

/* Hashes of an in-memory buffer (tests, fuzzers). */
int filehash_buffer(const void *data, size_t size, struct file_hashes *out);

#endif
