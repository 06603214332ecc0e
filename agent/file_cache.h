/*
 * file_cache.h - what the agent knows about each executable file version.
 *
 * A file version is (device, inode, ctime, size): ctime cannot be set from
 * user space, so a file that changes gets a new key.  Each version is
 * hashed once (SHA-1, SHA-256 and MD5 in one pass) from an fd opened when its
 * exec was seen, and the result is shared by every image that runs it.
 *
 * The files are the users' and may be hostile (issue 9): a FIFO renamed
 * over an exe, a file on a FUSE mount whose daemon never answers, a 500 MiB
 * sparse binary exec'd in a loop.  So the agent's main thread never opens or
 * reads one: two worker threads do, and whoever waits is told through
 * file_cache_take_completions() once the main loop sees the completion fd.
 *   - the quick lane opens every file (/proc/PID/exe, else the exe's path
 *     with no link followed, a regular file only) right away, while the
 *     process most likely lives, and hashes files up to
 *     FILE_CACHE_QUICK_MAX_BYTES;
 *   - the large lane hashes the larger ones, smallest first, so a huge
 *     file never holds up the others for long;
 *   - each lane holds at most max_queued jobs (each with an open fd): past
 *     that the largest job is dropped (HASH_STATUS_QUEUE_FULL, counted);
 *   - a large file nobody waits for any more when its turn comes (its
 *     rows stopped waiting, pending_exec.h) is not hashed: the next exec
 *     of it asks again (counted as abandoned).
 * A test harness may ask for files up to inline_hash_bytes to be opened and
 * hashed on the caller's thread (the agent asks for none).
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
	HASH_STATUS_QUEUE_FULL, /* too many files waited for the hash workers */
};

/* Files up to this size are hashed on the quick lane, larger ones on the
 * large lane. */
#define FILE_CACHE_QUICK_MAX_BYTES ((int64_t)16 << 20)
/* Jobs each lane may hold by default (each keeps an fd open). */
#define FILE_CACHE_DEFAULT_QUEUED 64
/* The identity strings the cache keeps, at most (an entry's are bounded
 * too: 32 KiB of facts, 1 KiB a string; file_cache.c). */
#define FILE_CACHE_DEFAULT_TEXT_BYTES ((size_t)32 << 20)

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
	/* what was cut of them to keep them bounded ("Key":size before, JSON
	 * members without braces), NULL: nothing */
	char *identity_cuts;
	size_t text_bytes; /* of the strings above, as the cache counts them */
	struct file_waiter *waiters;
	struct hash_job *job; /* while HASH_STATUS_PENDING */
	/* cache bookkeeping */
	struct list_node lru; /* on the cache's list, least recently used first */
	bool in_cache;
	bool known_to_probe; /* assembler_context.file_known was told */
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
	int64_t inline_hash_bytes; /* at most this: opened and hashed on the
				      caller's thread (tests; the agent: 0) */
	uint32_t max_entries;
	uint32_t max_queued; /* jobs per lane; 0: FILE_CACHE_DEFAULT_QUEUED */
	size_t max_text_bytes; /* of identity strings; 0: the default */
};

struct file_cache_stats {
	uint64_t lookups, hits, hashed_inline, hashed_worker, hashed_large, raced,
		too_large, unreadable, unavailable, queue_full, abandoned, evicted;
	uint32_t entries, pending;
	size_t text_bytes; /* identity strings the cache holds */
	uint32_t quick_queued, large_queued; /* jobs waiting per lane */
	uint64_t quick_busy_ms, large_busy_ms; /* how long the current job ran */
};

/*
 * Where the file of a version is.  An exec's file: /proc/PID/exe (works for
 * memfd and deleted files while the process lives; checked as a running
 * image), else path, when path_usable says it named the file at exec time
 * (checked exactly).  Or fd, already open (checked exactly; taken over).
 */
struct file_origin {
	uint32_t pid; /* 0: no process to look at */
	const char *path; /* also for the package lookup; NULL: none */
	bool path_usable;
	int fd; /* >= 0: the file, open; -1: open it as above */
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
 * Make sure a hash is on its way: if the entry has no status yet, open the
 * file as origin says, check it is the version of the key (fstat, before
 * and after hashing), hash it and read its identity (version info, ELF/Go
 * facts, package of origin->path).  Takes ownership of origin->fd.
 * Returns true when the status is final (always in inline mode), false
 * when a worker has the job (HASH_STATUS_PENDING).
 */
bool file_cache_request_hash(struct file_cache *cache, struct file_info *info,
			     const struct file_origin *origin);

/* The version string for a column, "" when none.  Never NULL. */
const char *file_info_version(const struct file_info *info, enum version_field field);

/* Add waiter to a pending entry (waiter memory owned by the caller). */
void file_info_wait(struct file_info *info, struct file_waiter *waiter);

/* Take a waiter back (it will not be notified). */
void file_info_unwait(struct file_info *info, struct file_waiter *waiter);

bool hash_status_is_final(enum hash_status status);
const char *hash_status_name(enum hash_status status);

void file_cache_read_stats(struct file_cache *cache, struct file_cache_stats *stats);

/* fstat(fd) gives this key, as check says? */
bool file_key_matches_fd(const struct file_key *key, int fd, enum file_check check);
void file_key_from_stat(struct file_key *key, const struct stat *status);

#endif
