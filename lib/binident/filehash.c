/*
 * filehash.c - one-pass SHA-1/SHA-256/MD5 over a file descriptor.
 *
 * Three EVP digest contexts are fed from one read buffer, so a file is read
 * once whatever the number of digests.  The buffer is on the heap (256 KiB):
 * the hash worker threads call this with small stacks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "binident/filehash.h"
#include "base/text.h"

#define FILEHASH_CHUNK ((size_t)256 * 1024)

enum { DIGEST_SHA1, DIGEST_SHA256, DIGEST_MD5, DIGEST_COUNT };

struct digest_set {
	EVP_MD_CTX *contexts[DIGEST_COUNT];
};

static void digest_set_free(struct digest_set *set)
{
	for (int i = 0; i < DIGEST_COUNT; i++)
		EVP_MD_CTX_free(set->contexts[i]);
}

static int digest_set_init(struct digest_set *set)
{
	const EVP_MD *types[DIGEST_COUNT] = {EVP_sha1(), EVP_sha256(), EVP_md5()};

	memset(set, 0, sizeof(*set));
	for (int i = 0; i < DIGEST_COUNT; i++) {
		set->contexts[i] = EVP_MD_CTX_new();
		if (!set->contexts[i] ||
		    EVP_DigestInit_ex(set->contexts[i], types[i], NULL) != 1) {
			digest_set_free(set);
			return -EIO;
		}
	}
	return 0;
}

static int digest_set_update(struct digest_set *set, const void *data, size_t size)
{
	for (int i = 0; i < DIGEST_COUNT; i++) {
		if (EVP_DigestUpdate(set->contexts[i], data, size) != 1)
			return -EIO;
	}
	return 0;
}

static int digest_set_final(struct digest_set *set, struct file_hashes *out)
{
	char *targets[DIGEST_COUNT] = {out->sha1, out->sha256, out->md5};
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int size;

	for (int i = 0; i < DIGEST_COUNT; i++) {
		if (EVP_DigestFinal_ex(set->contexts[i], digest, &size) != 1)
			return -EIO;
		text_hex(digest, size, targets[i]);
	}
	return 0;
}

int filehash_fd(int fd, int64_t max_bytes, struct file_hashes *out)
{
	struct digest_set set;
	unsigned char *buffer;
	int64_t offset = 0;
	int result;

	buffer = malloc(FILEHASH_CHUNK);
	if (!buffer)
		return -ENOMEM;
	result = digest_set_init(&set);
	if (result < 0) {
		free(buffer);
		return result;
	}
	for (;;) {
		ssize_t got = pread(fd, buffer, FILEHASH_CHUNK, offset);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			result = -errno;
			break;
		}
		if (got == 0)
			break;
		offset += got;
		if (max_bytes > 0 && offset > max_bytes) {
			result = -EFBIG;
			break;
		}
		result = digest_set_update(&set, buffer, (size_t)got);
		if (result < 0)
			break;
	}
	if (result == 0)
		result = digest_set_final(&set, out);
	if (result == 0)
		out->bytes = offset;
	digest_set_free(&set);
	free(buffer);
	return result;
}

int filehash_path(const char *path, int64_t max_bytes, struct file_hashes *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int result;

	if (fd < 0)
		return -errno;
	result = filehash_fd(fd, max_bytes, out);
	close(fd);
	return result;
}

int filehash_buffer(const void *data, size_t size, struct file_hashes *out)
{
	struct digest_set set;
	int result = digest_set_init(&set);

	if (result < 0)
		return result;
	result = digest_set_update(&set, data, size);
	if (result == 0)
		result = digest_set_final(&set, out);
	if (result == 0)
		out->bytes = (int64_t)size;
	digest_set_free(&set);
	return result;
}
