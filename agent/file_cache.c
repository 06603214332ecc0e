/*
 * file_cache.c - hashes of executable file versions, cached and bounded.
 *
 * Threads: everything here runs on the agent's main thread except
 * lane_main() (two threads: the quick and the large lane), which opens the
 * file of a job, reads it and writes the job's result fields.  Jobs travel
 * main -> lane through the lane's queue, quick lane -> large lane when the
 * file turns out large, and back through `done`, all under `lock`; a lane
 * writes to an eventfd so the main loop wakes up and calls
 * file_cache_take_completions().
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "binident/binident_json.h"
#include "file_cache.h"
#include "base/hashmap.h"
#include "base/safe_open.h"
#include "base/text.h"

/* Bounds of what a file's identity may hold (records.md, "Sizes"). */
#define IDENTITY_STRING_MAX ((size_t)1024)
#define IDENTITY_FIELDS_MAX ((size_t)32 * 1024)
#define IDENTITY_DEPTH_MAX 8

struct hash_job {
	struct hash_job *next;
	struct file_info *info; /* a reference; touched on the main thread only */
	struct file_key key; /* copy for the worker */
	int fd; /* -1 until opened */
	uint32_t pid; /* /proc/PID/exe; 0: none */
	bool path_usable; /* the path may be opened */
	enum file_check check;
	int64_t max_bytes;
	struct dpkg_index *dpkg;
	char *path; /* for opening and the package lookup; may be NULL */
	char *version[VERSION_FIELD_COUNT];
	char *identity_fields;
	char *identity_cuts;
	/* rows waiting for it (main thread writes, the large lane reads) */
	atomic_uint wanted;
	/* filled by the worker */
	enum hash_status status;
	int error;
	struct file_hashes hashes;
	bool large; /* went through the large lane */
	bool skipped; /* the large lane found nobody waiting */
};

enum lane_id { LANE_QUICK, LANE_LARGE, LANE_COUNT };

/* One worker thread and its queue (the quick lane's in arrival order, the
 * large lane's smallest file first). */
struct lane {
	struct file_cache *cache;
	enum lane_id id;
	pthread_t thread;
	bool started;
	pthread_cond_t wake;
	struct hash_job *queue; /* under cache->lock */
	uint32_t queued;
	uint64_t busy_since_ms; /* 0: idle; under cache->lock */
};

struct file_cache {
	struct file_cache_options options;
	struct hashmap map;
	struct list lru; /* of struct file_info, least recently used first */
	struct file_cache_stats stats;
	/* workers */
	struct lane lanes[LANE_COUNT];
	pthread_mutex_t lock;
	struct hash_job *done;
	bool stopping;
	int completion_fd;
};

static void evict_oldest(struct file_cache *cache);

static uint64_t key_hash(const struct file_key *key)
{
	uint64_t hash = hashmap_mix64(key->device ^ (key->inode * 0x9e3779b97f4a7c15ULL));

	hash = hashmap_mix64(hash ^ (uint64_t)key->ctime_sec ^
			     ((uint64_t)key->ctime_nsec << 32));
	return hashmap_mix64(hash ^ (uint64_t)key->size);
}

static bool key_equal(const struct file_key *a, const struct file_key *b)
{
	return a->device == b->device && a->inode == b->inode &&
	       a->ctime_sec == b->ctime_sec && a->ctime_nsec == b->ctime_nsec &&
	       a->size == b->size;
}

static uint64_t map_hash_key(const void *key)
{
	return key_hash(key);
}

static uint64_t map_hash_entry(const void *entry)
{
	return key_hash(&((const struct file_info *)entry)->key);
}

static bool map_entry_has_key(const void *entry, const void *key)
{
	return key_equal(&((const struct file_info *)entry)->key, key);
}

static const struct hashmap_type file_map_type = {
	.hash_key = map_hash_key,
	.hash_entry = map_hash_entry,
	.entry_has_key = map_entry_has_key,
};

void file_key_from_stat(struct file_key *key, const struct stat *status)
{
	key->device = status->st_dev;
	key->inode = status->st_ino;
	key->ctime_sec = status->st_ctim.tv_sec;
	key->ctime_nsec = (uint32_t)status->st_ctim.tv_nsec;
	key->size = status->st_size;
	key->mtime_sec = status->st_mtim.tv_sec;
	key->mtime_nsec = (uint32_t)status->st_mtim.tv_nsec;
}

bool file_key_matches_fd(const struct file_key *key, int fd, enum file_check check)
{
	struct file_key actual;
	struct stat status;

	if (fstat(fd, &status) != 0)
		return false;
	file_key_from_stat(&actual, &status);
	if (check == FILE_CHECK_EXACT)
		return key_equal(key, &actual);
	return key->device == actual.device && key->inode == actual.inode &&
	       key->size == actual.size && key->mtime_sec == actual.mtime_sec &&
	       key->mtime_nsec == actual.mtime_nsec;
}

bool hash_status_is_final(enum hash_status status)
{
	return status != HASH_STATUS_NONE && status != HASH_STATUS_PENDING;
}

const char *hash_status_name(enum hash_status status)
{
	switch (status) {
	case HASH_STATUS_NONE:
		return "not-requested";
	case HASH_STATUS_PENDING:
		return "pending";
	case HASH_STATUS_OK:
		return "ok";
	case HASH_STATUS_RACED:
		return "raced";
	case HASH_STATUS_TOO_LARGE:
		return "too-large";
	case HASH_STATUS_UNREADABLE:
		return "unreadable";
	case HASH_STATUS_UNAVAILABLE:
		return "unavailable";
	case HASH_STATUS_QUEUE_FULL:
		return "queue-full";
	}
	return "unknown";
}

/* {"a":1,"b":2} -> "a":1,"b":2 (so it can join another object) */
static char *object_members(json_t *object)
{
	char *text = json_dumps(object, JSON_COMPACT | JSON_PRESERVE_ORDER);
	size_t length;

	if (!text)
		return NULL;
	length = strlen(text);
	if (length < 2) {
		free(text);
		return NULL;
	}
	memmove(text, text + 1, length - 2);
	text[length - 2] = '\0';
	return text;
}

/* Version info and other identity facts, from the job's fd. */
/* The largest string in value (objects and arrays too, depth bounded) cut
 * to max bytes; returns the longest length found over max (0: none). */
static size_t cut_strings(json_t *value, size_t max, int depth)
{
	size_t longest = 0, found;
	const char *key;
	json_t *member;
	size_t index;

	if (json_is_string(value)) {
		size_t length = json_string_length(value);

		if (length <= max)
			return 0;
		json_string_setn(value, json_string_value(value),
				 text_cut_length(json_string_value(value), length, max));
		return length;
	}
	if (depth >= IDENTITY_DEPTH_MAX)
		return 0; /* deeper still: the size check below decides */
	if (json_is_object(value)) {
		json_object_foreach(value, key, member) {
			found = cut_strings(member, max, depth + 1);
			longest = found > longest ? found : longest;
		}
	} else if (json_is_array(value)) {
		json_array_foreach(value, index, member) {
			found = cut_strings(member, max, depth + 1);
			longest = found > longest ? found : longest;
		}
	}
	return longest;
}

static size_t dumped_size(json_t *value)
{
	return json_dumpb(value, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
}

/*
 * The identity facts within bounds (issue 9: a crafted Go build info made
 * records of 13 MB): every string at most IDENTITY_STRING_MAX bytes, the
 * whole at most IDENTITY_FIELDS_MAX, dropping whole members (the least
 * telling first) when the strings alone do not do.  cuts gets what was cut,
 * key and size before.
 */
static void bound_identity(json_t *fields, json_t *cuts)
{
	static const char *const droppable[] = {
		"PeVersionOtherTables", "ElfPackageNote", "DebPackages", "PeVersionAnomalies",
		"PeVersionStrings",
	};
	const char *key;
	json_t *member;
	size_t length;

	json_object_foreach(fields, key, member) {
		length = cut_strings(member, IDENTITY_STRING_MAX, 0);
		if (length)
			json_object_set_new(cuts, key, json_integer((json_int_t)length));
	}
	for (size_t i = 0; i < sizeof(droppable) / sizeof(droppable[0]); i++) {
		member = json_object_get(fields, droppable[i]);
		if (dumped_size(fields) <= IDENTITY_FIELDS_MAX)
			return;
		if (!member)
			continue;
		json_object_set_new(cuts, droppable[i],
				    json_integer((json_int_t)dumped_size(member)));
		json_object_del(fields, droppable[i]);
	}
}

/* A version string for a column, at most IDENTITY_STRING_MAX bytes. */
static char *version_copy(const char *text, json_t *cuts, enum version_field field)
{
	size_t length = strlen(text), kept = text_cut_length(text, length, IDENTITY_STRING_MAX);

	if (kept < length)
		json_object_set_new(cuts, dpe_columns[version_fields[field].process_column].name,
				    json_integer((json_int_t)length));
	return strndup(text, kept);
}

static void read_identity(struct hash_job *job)
{
	struct binident_options options = {.dpkg = job->dpkg, .path = job->path};
	struct binary_identity identity;
	json_t *fields, *cuts = json_object();

	if (cuts && binident_inspect_fd(job->fd, &options, &identity) == 0) {
		for (int field = 0; field < VERSION_FIELD_COUNT; field++)
			job->version[field] = version_copy(binident_version_field(&identity, field),
							   cuts, (enum version_field)field);
		fields = binident_additional_fields(&identity);
		if (fields) {
			bound_identity(fields, cuts);
			job->identity_fields = object_members(fields);
			json_decref(fields);
		}
		if (json_object_size(cuts))
			job->identity_cuts = object_members(cuts);
	}
	json_decref(cuts);
	binident_release(&identity);
}

static uint64_t monotonic_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000 + 1;
}

/*
 * Open the job's file: /proc/PID/exe first (a link the kernel resolves to
 * the running file itself), checked as a running image; then the path the
 * kernel reported, with no link followed and only if it is a regular file
 * (a FIFO renamed over it cannot block us), checked exactly.  The job's
 * status says why when neither is the version that ran.
 */
static void open_job_file(struct hash_job *job)
{
	char proc_path[64];
	bool found_other = false;
	struct stat status;
	int open_errno = ENOENT, fd;

	if (job->pid) {
		snprintf(proc_path, sizeof(proc_path), "/proc/%u/exe", job->pid);
		fd = open(proc_path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd >= 0) {
			job->check = FILE_CHECK_RUNNING_IMAGE;
			if (file_key_matches_fd(&job->key, fd, job->check)) {
				job->fd = fd;
				return;
			}
			close(fd);
			found_other = true;
		} else if (errno != ENOENT && errno != ESRCH) {
			open_errno = errno;
		}
	}
	if (job->path_usable && job->path) {
		fd = safe_open_file(job->path, SAFE_OPEN_NO_LINKS, &status);
		job->check = FILE_CHECK_EXACT;
		if (fd >= 0 && file_key_matches_fd(&job->key, fd, job->check)) {
			job->fd = fd;
			return;
		}
		if (fd >= 0) {
			close(fd);
			found_other = true;
		} else if (fd == -ELOOP || fd == -ENOEXEC) {
			found_other = true; /* a link or a FIFO in its place now */
		} else if (fd != -ENOENT && !found_other) {
			open_errno = -fd;
		}
	}
	if (found_other) {
		job->status = HASH_STATUS_RACED;
	} else {
		job->status = open_errno == ENOENT || open_errno == ESRCH ? HASH_STATUS_UNAVAILABLE
									  : HASH_STATUS_UNREADABLE;
		job->error = open_errno;
	}
}

/* Hash the job's file and read what it is; runs on a lane (or inline). */
static void hash_job_file(struct hash_job *job)
{
	int result;

	if (!file_key_matches_fd(&job->key, job->fd, job->check)) {
		job->status = HASH_STATUS_RACED;
		return;
	}
	/* too large to hash: still worth knowing what it is (headers only) */
	result = job->max_bytes > 0 && job->key.size > job->max_bytes
			 ? -EFBIG
			 : filehash_fd(job->fd, job->max_bytes, &job->hashes);
	if (result == -EFBIG) {
		job->status = HASH_STATUS_TOO_LARGE;
	} else if (result < 0) {
		job->status = HASH_STATUS_UNREADABLE;
		job->error = -result;
	} else if (!file_key_matches_fd(&job->key, job->fd, job->check) ||
		   job->hashes.bytes != job->key.size) {
		/* written to while we read it */
		job->status = HASH_STATUS_RACED;
	} else {
		job->status = HASH_STATUS_OK;
	}
	if (job->status == HASH_STATUS_OK || job->status == HASH_STATUS_TOO_LARGE)
		read_identity(job);
}

/* What a lane does with a job: false when the quick lane found it large
 * (it goes on to the large lane). */
static bool run_job(struct hash_job *job, enum lane_id lane)
{
	if (job->fd < 0)
		open_job_file(job);
	if (job->fd < 0)
		return true; /* the status says why */
	if (lane == LANE_QUICK && job->key.size > FILE_CACHE_QUICK_MAX_BYTES)
		return false;
	hash_job_file(job);
	return true;
}

static void complete(struct file_cache *cache, struct hash_job *job)
{
	uint64_t one = 1;

	job->next = cache->done;
	cache->done = job;
	if (write(cache->completion_fd, &one, sizeof(one)) < 0) {
		/* eventfd counter saturated: the main loop is awake */
	}
}

/* Queue a job on a lane (under lock).  A full lane drops its largest job,
 * this one or a queued one, which completes as HASH_STATUS_QUEUE_FULL. */
static void enqueue(struct file_cache *cache, struct lane *lane, struct hash_job *job)
{
	struct hash_job **link = &lane->queue, **largest = NULL;

	if (lane->queued >= cache->options.max_queued) {
		for (struct hash_job **cursor = &lane->queue; *cursor; cursor = &(*cursor)->next)
			largest = cursor;
		if (lane->id == LANE_QUICK || !largest || (*largest)->key.size <= job->key.size) {
			job->status = HASH_STATUS_QUEUE_FULL;
			complete(cache, job);
			return;
		}
		struct hash_job *dropped = *largest;

		*largest = dropped->next;
		lane->queued--;
		dropped->status = HASH_STATUS_QUEUE_FULL;
		complete(cache, dropped);
	}
	/* the quick lane in arrival order, the large lane smallest first */
	while (*link && (lane->id == LANE_QUICK || (*link)->key.size <= job->key.size))
		link = &(*link)->next;
	job->next = *link;
	*link = job;
	lane->queued++;
	pthread_cond_signal(&lane->wake);
}

static void *lane_main(void *argument)
{
	struct lane *lane = argument;
	struct file_cache *cache = lane->cache;

	/* named for top and /proc/PID/task: whose CPU is whose */
	pthread_setname_np(pthread_self(), lane->id == LANE_QUICK ? "rmmhunt-hashq" : "rmmhunt-hashl");
	pthread_mutex_lock(&cache->lock);
	for (;;) {
		while (!lane->queue && !cache->stopping)
			pthread_cond_wait(&lane->wake, &cache->lock);
		if (cache->stopping)
			break;
		struct hash_job *job = lane->queue;
		lane->queue = job->next;
		lane->queued--;
		lane->busy_since_ms = monotonic_ms();
		pthread_mutex_unlock(&cache->lock);

		bool finished = true;

		if (lane->id == LANE_LARGE && atomic_load(&job->wanted) == 0)
			job->skipped = true; /* the main thread decides what next */
		else
			finished = run_job(job, lane->id);

		pthread_mutex_lock(&cache->lock);
		lane->busy_since_ms = 0;
		if (finished) {
			complete(cache, job);
		} else {
			job->large = true;
			enqueue(cache, &cache->lanes[LANE_LARGE], job);
		}
	}
	pthread_mutex_unlock(&cache->lock);
	return NULL;
}

int file_cache_create(struct file_cache **out,
		      const struct file_cache_options *options)
{
	struct file_cache *cache = calloc(1, sizeof(*cache));
	int result;

	if (!cache)
		return -ENOMEM;
	cache->options = *options;
	if (!cache->options.max_queued)
		cache->options.max_queued = FILE_CACHE_DEFAULT_QUEUED;
	if (!cache->options.max_text_bytes)
		cache->options.max_text_bytes = FILE_CACHE_DEFAULT_TEXT_BYTES;
	hashmap_init(&cache->map, &file_map_type);
	pthread_mutex_init(&cache->lock, NULL);
	for (int id = 0; id < LANE_COUNT; id++) {
		cache->lanes[id].cache = cache;
		cache->lanes[id].id = (enum lane_id)id;
		pthread_cond_init(&cache->lanes[id].wake, NULL);
	}
	cache->completion_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (cache->completion_fd < 0) {
		result = -errno;
		file_cache_destroy(cache);
		return result;
	}
	for (int id = 0; id < LANE_COUNT; id++) {
		struct lane *lane = &cache->lanes[id];

		result = pthread_create(&lane->thread, NULL, lane_main, lane);
		if (result) {
			file_cache_destroy(cache);
			return -result;
		}
		lane->started = true;
	}
	*out = cache;
	return 0;
}

static void free_job(struct file_cache *cache, struct hash_job *job);

static void free_jobs(struct file_cache *cache, struct hash_job *job)
{
	while (job) {
		struct hash_job *next = job->next;

		free_job(cache, job);
		job = next;
	}
}

void file_cache_destroy(struct file_cache *cache)
{
	if (!cache)
		return;
	pthread_mutex_lock(&cache->lock);
	cache->stopping = true;
	for (int id = 0; id < LANE_COUNT; id++)
		pthread_cond_signal(&cache->lanes[id].wake);
	pthread_mutex_unlock(&cache->lock);
	for (int id = 0; id < LANE_COUNT; id++) {
		if (cache->lanes[id].started)
			pthread_join(cache->lanes[id].thread, NULL);
	}
	/* Jobs hold references to entries: drop the jobs, then the entries. */
	for (int id = 0; id < LANE_COUNT; id++) {
		free_jobs(cache, cache->lanes[id].queue);
		pthread_cond_destroy(&cache->lanes[id].wake);
	}
	free_jobs(cache, cache->done);
	/* Entries still referenced elsewhere are freed by their last holder. */
	while (!list_is_empty(&cache->lru))
		evict_oldest(cache);
	hashmap_free(&cache->map);
	if (cache->completion_fd >= 0)
		close(cache->completion_fd);
	pthread_mutex_destroy(&cache->lock);
	free(cache);
}

int file_cache_completion_fd(const struct file_cache *cache)
{
	return cache->completion_fd;
}

struct file_info *file_info_acquire(struct file_info *info)
{
	info->references++;
	return info;
}

void file_info_release(struct file_cache *cache, struct file_info *info)
{
	(void)cache;
	if (!info || --info->references > 0)
		return;
	/* Only entries the cache has already forgotten reach zero. */
	for (int field = 0; field < VERSION_FIELD_COUNT; field++)
		free(info->version[field]);
	free(info->identity_fields);
	free(info->identity_cuts);
	free(info);
}

const char *file_info_version(const struct file_info *info, enum version_field field)
{
	return info && info->version[field] ? info->version[field] : "";
}

static void evict_oldest(struct file_cache *cache)
{
	struct file_info *info = list_first(&cache->lru);

	if (!info)
		return;
	cache->stats.text_bytes -= info->text_bytes;
	list_remove(&cache->lru, &info->lru);
	hashmap_remove(&cache->map, &info->key);
	info->in_cache = false;
	cache->stats.evicted++;
	file_info_release(cache, info);
}

struct file_info *file_cache_get(struct file_cache *cache,
				 const struct file_key *key)
{
	struct file_info *info;

	cache->stats.lookups++;
	info = hashmap_get(&cache->map, key);
	if (info) {
		cache->stats.hits++;
		list_move_to_end(&cache->lru, &info->lru);
		return file_info_acquire(info);
	}
	/* Room first, so the new entry is never the one evicted. */
	while (cache->map.count > 0 && cache->map.count >= cache->options.max_entries)
		evict_oldest(cache);
	info = calloc(1, sizeof(*info));
	if (!info)
		return NULL;
	info->key = *key;
	info->references = 1; /* the cache's own */
	if (hashmap_insert(&cache->map, info) != 0) {
		free(info);
		return NULL;
	}
	info->in_cache = true;
	list_append(&cache->lru, &info->lru, info);
	return file_info_acquire(info);
}

static size_t length_of(const char *text)
{
	return text ? strlen(text) + 1 : 0;
}

/* An entry's strings count against the cache's byte bound: past it the
 * least recently used entries go (not this one, the most recent). */
static void account_text(struct file_cache *cache, struct file_info *info)
{
	size_t bytes = length_of(info->identity_fields) + length_of(info->identity_cuts);

	for (int field = 0; field < VERSION_FIELD_COUNT; field++)
		bytes += length_of(info->version[field]);
	if (!info->in_cache)
		return;
	cache->stats.text_bytes += bytes - info->text_bytes;
	info->text_bytes = bytes;
	while (cache->stats.text_bytes > cache->options.max_text_bytes &&
	       list_first(&cache->lru) != info)
		evict_oldest(cache);
}

static void notify_waiters(struct file_info *info)
{
	struct file_waiter *waiter = info->waiters;

	info->waiters = NULL;
	while (waiter) {
		struct file_waiter *next = waiter->next;

		waiter->notify(waiter->context);
		waiter = next;
	}
}

static void count_status(struct file_cache *cache, enum hash_status status)
{
	switch (status) {
	case HASH_STATUS_RACED:
		cache->stats.raced++;
		break;
	case HASH_STATUS_TOO_LARGE:
		cache->stats.too_large++;
		break;
	case HASH_STATUS_UNREADABLE:
		cache->stats.unreadable++;
		break;
	case HASH_STATUS_UNAVAILABLE:
		cache->stats.unavailable++;
		break;
	case HASH_STATUS_QUEUE_FULL:
		cache->stats.queue_full++;
		break;
	default:
		break;
	}
}

static void free_job(struct file_cache *cache, struct hash_job *job)
{
	if (job->fd >= 0)
		close(job->fd);
	file_info_release(cache, job->info);
	for (int field = 0; field < VERSION_FIELD_COUNT; field++)
		free(job->version[field]);
	free(job->identity_fields);
	free(job->identity_cuts);
	free(job->path);
	free(job);
}

/* Apply a job's results to its entry (the entry takes the strings). */
static void finish(struct file_cache *cache, struct file_info *info,
		   struct hash_job *job)
{
	info->hash_status = job->status;
	info->hash_errno = job->error;
	if (job->status == HASH_STATUS_OK)
		info->hashes = job->hashes;
	for (int field = 0; field < VERSION_FIELD_COUNT; field++) {
		info->version[field] = job->version[field];
		job->version[field] = NULL;
	}
	info->identity_fields = job->identity_fields;
	job->identity_fields = NULL;
	info->identity_cuts = job->identity_cuts;
	job->identity_cuts = NULL;
	account_text(cache, info);
	count_status(cache, job->status);
	notify_waiters(info);
	if (info->hash_status == HASH_STATUS_QUEUE_FULL)
		info->hash_status = HASH_STATUS_NONE; /* the next exec may try again */
}

bool file_cache_request_hash(struct file_cache *cache, struct file_info *info,
			     const struct file_origin *origin)
{
	struct hash_job *job;

	if (info->hash_status != HASH_STATUS_NONE) {
		if (origin->fd >= 0)
			close(origin->fd);
		return hash_status_is_final(info->hash_status);
	}
	job = calloc(1, sizeof(*job));
	if (!job) {
		if (origin->fd >= 0)
			close(origin->fd);
		info->hash_status = HASH_STATUS_UNREADABLE;
		info->hash_errno = ENOMEM;
		count_status(cache, info->hash_status);
		return true;
	}
	job->info = file_info_acquire(info);
	atomic_init(&job->wanted, 0);
	job->key = info->key;
	job->fd = origin->fd;
	job->pid = origin->pid;
	job->check = FILE_CHECK_EXACT;
	job->max_bytes = cache->options.max_hash_bytes;
	job->dpkg = cache->options.dpkg;
	job->path = origin->path && origin->path[0] == '/' ? strdup(origin->path) : NULL;
	job->path_usable = origin->path_usable && job->path;
	if (cache->options.inline_hash_bytes > 0 && info->key.size <= cache->options.inline_hash_bytes) {
		cache->stats.hashed_inline++;
		run_job(job, LANE_LARGE);
		finish(cache, info, job);
		free_job(cache, job);
		return true;
	}
	cache->stats.hashed_worker++;
	info->hash_status = HASH_STATUS_PENDING;
	info->job = job;
	cache->stats.pending++;
	pthread_mutex_lock(&cache->lock);
	/* an open file goes straight to its lane; the quick lane opens the others */
	enqueue(cache, &cache->lanes[job->fd >= 0 && job->key.size > FILE_CACHE_QUICK_MAX_BYTES
					     ? LANE_LARGE
					     : LANE_QUICK],
		job);
	pthread_mutex_unlock(&cache->lock);
	return false;
}

void file_info_wait(struct file_info *info, struct file_waiter *waiter)
{
	waiter->next = info->waiters;
	info->waiters = waiter;
	if (info->job)
		atomic_fetch_add(&info->job->wanted, 1);
}

void file_info_unwait(struct file_info *info, struct file_waiter *waiter)
{
	struct file_waiter **link = &info->waiters;

	while (*link && *link != waiter)
		link = &(*link)->next;
	if (!*link)
		return;
	*link = waiter->next;
	if (info->job)
		atomic_fetch_sub(&info->job->wanted, 1);
}

void file_cache_take_completions(struct file_cache *cache)
{
	struct hash_job *jobs;
	uint64_t ignored;

	if (read(cache->completion_fd, &ignored, sizeof(ignored)) < 0) {
		/* EAGAIN: nothing signalled; the list below may still hold work */
	}
	pthread_mutex_lock(&cache->lock);
	jobs = cache->done;
	cache->done = NULL;
	pthread_mutex_unlock(&cache->lock);
	while (jobs) {
		struct hash_job *next = jobs->next;

		if (jobs->skipped && jobs->info->waiters) {
			/* a row came to wait for it meanwhile: its turn again */
			jobs->skipped = false;
			pthread_mutex_lock(&cache->lock);
			enqueue(cache, &cache->lanes[LANE_LARGE], jobs);
			pthread_mutex_unlock(&cache->lock);
			jobs = next;
			continue;
		}
		cache->stats.pending--;
		jobs->info->job = NULL;
		if (jobs->skipped) {
			/* nobody waits: the next exec of it asks again */
			jobs->info->hash_status = HASH_STATUS_NONE;
			cache->stats.abandoned++;
		} else {
			cache->stats.hashed_large += jobs->large;
			finish(cache, jobs->info, jobs);
		}
		free_job(cache, jobs);
		jobs = next;
	}
}

void file_cache_read_stats(struct file_cache *cache, struct file_cache_stats *stats)
{
	uint64_t now = monotonic_ms(), busy[LANE_COUNT];

	*stats = cache->stats;
	stats->entries = (uint32_t)cache->map.count;
	pthread_mutex_lock(&cache->lock);
	stats->quick_queued = cache->lanes[LANE_QUICK].queued;
	stats->large_queued = cache->lanes[LANE_LARGE].queued;
	for (int id = 0; id < LANE_COUNT; id++)
		busy[id] = cache->lanes[id].busy_since_ms;
	pthread_mutex_unlock(&cache->lock);
	stats->quick_busy_ms = busy[LANE_QUICK] ? now - busy[LANE_QUICK] : 0;
	stats->large_busy_ms = busy[LANE_LARGE] ? now - busy[LANE_LARGE] : 0;
}
