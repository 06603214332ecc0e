/*
 * file_cache.h - what the agent knows about each executable file version.
 *
 * A file version is (device, inode, ctime, size): ctime cannot be set from
 * user space, so a file that changes gets a new key.  Each version is
 * hashed once (SHA-1, SHA-256 and MD5 in one pass) from an fd opened when its
 * exec was seen, and the result is shared by every image that runs it.
 *
 * Small files are hashed at once on the calling (ring-buffer) thread; larger
 * ones go to a worker thread, and whoever waits for them is told through
 * file_cache_take_completions() once the main loop sees the completion fd.
 * The cache is bounded: least recently used versions are forgotten first
 * (entries still referenced stay alive until released).
 *
 * When no hash can be had, hash_status says why; it is never a silent blank.
 */
#ifndef RMMHUNT_AGENT_FILE_CACHE_H
#define RMMHUNT_AGENT_FILE_CACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "base/list.h"
#include "binident/binident.h"
#include "binident/filehash.h"

struct file_key {
	uint64_t device; /* user-space dev_t */
	uint64_t inode;
	int64_t ctime_sec;
	uint32_t ctime_nsec;
	int64_t size;
	/* not part of the identity: see file_key_same_running_image() */
	int64_t mtime_sec;
	uint32_t mtime_nsec;
};

/*
 * How an fd is checked against a key.  FILE_CHECK_EXACT: ctime and all.
 * FILE_CHECK_RUNNING_IMAGE: for an fd from /proc/PID/exe of a live process:
 * the kernel refuses writes to a running executable (ETXTBSY), so its
 * content cannot have changed; metadata changes that move ctime (unlink,
 * chmod, a new link) are allowed as long as device, inode, size and mtime
 * still match.
 */
enum file_check {
	FILE_CHECK_EXACT,
	FILE_CHECK_RUNNING_IMAGE,
};

enum hash_status {
	HASH_STATUS_NONE, /* nobody asked yet */
	HASH_STATUS_PENDING, /* on the worker */
	HASH_STATUS_OK,
	HASH_STATUS_RACED, /* the file changed between exec and hashing */
	HASH_STATUS_TOO_LARGE, /* over the configured limit */
	HASH_STATUS_UNREADABLE, /* open/read failed: hash_errno says why */
	HASH_STATUS_UNAVAILABLE, /* process gone and the path no longer names it */
};

struct file_waiter;

struct file_info {
	struct file_key key;
	int references;
	enum hash_status hash_status;
	int hash_errno;
	struct file_hashes hashes;
	/* What the file is (binident.h), read from the same fd as the hashes:
	 * the six version-info strings (never NULL once final: "" for ELF) and
	 * the AdditionalFields members, as JSON text without braces. */
	char *version[VERSION_FIELD_COUNT];
	char *identity_fields;
	struct file_waiter *waiters;
	/* cache bookkeeping */
	struct list_node lru; /* on the cache's list, least recently used first */
	bool in_cache;
};

/* Something waiting for a file's hash: notify(context) once it is final. */
struct file_waiter {
	struct file_waiter *next;
	void (*notify)(void *context);
	void *context;
};

struct file_cache_options {
	struct dpkg_index *dpkg; /* package owners; NULL: none */
	int64_t max_hash_bytes; /* larger files: HASH_STATUS_TOO_LARGE */
	int64_t inline_hash_bytes; /* at most this: hashed on the caller's thread */
	uint32_t max_entries;
};

struct file_cache_stats {
	uint64_t lookups, hits, hashed_inline, hashed_worker, raced,
		too_large, unreadable, unavailable, evicted;
	uint32_t entries, pending;
};

struct file_cache;

int file_cache_create(struct file_cache **out,
		      const struct file_cache_options *options);
void file_cache_destroy(struct file_cache *cache);

/* The fd that becomes readable when worker results wait. */
int file_cache_completion_fd(const struct file_cache *cache);
/* Apply finished worker results and notify their waiters. */
void file_cache_take_completions(struct file_cache *cache);

/* The entry for key, created if new; one reference for the caller. */
struct file_info *file_cache_get(struct file_cache *cache,
				 const struct file_key *key);
void file_info_release(struct file_cache *cache, struct file_info *info);
struct file_info *file_info_acquire(struct file_info *info);

/*
 * Make sure a hash is on its way: if the entry has no status yet, hash the
 * file and read its identity (version info, ELF/Go facts, package of path)
 * from fd (which must be the file of that key: it is checked by fstat
 * here and again after hashing).  Takes ownership of fd (-1: no fd could be
 * opened; open_errno says why: ESTALE when a file was found but it is no
 * longer the version that ran, ENOENT/ESRCH when nothing names it any more).  Returns true when the status is final.
 */
bool file_cache_request_hash(struct file_cache *cache, struct file_info *info,
			     int fd, enum file_check check, int open_errno,
			     const char *path);

/* The version string for a column, "" when none.  Never NULL. */
const char *file_info_version(const struct file_info *info, enum version_field field);

/* Add waiter to a pending entry (waiter memory owned by the caller). */
void file_info_wait(struct file_info *info, struct file_waiter *waiter);

/* Take a waiter back (it will not be notified). */
void file_info_unwait(struct file_info *info, struct file_waiter *waiter);

bool hash_status_is_final(enum hash_status status);
const char *hash_status_name(enum hash_status status);

void file_cache_read_stats(const struct file_cache *cache,
			   struct file_cache_stats *stats);

/* fstat(fd) gives this key, as check says? */
bool file_key_matches_fd(const struct file_key *key, int fd, enum file_check check);
void file_key_from_stat(struct file_key *key, const struct stat *status);

#endif
