/*
 * dpkg_index.c - the path -> package index over /var/lib/dpkg (see
 * dpkg_index.h).
 *
 * The table is open addressing with linear probing over two parallel
 * arrays (hash, package number); several entries may share a hash (a
 * directory or a Multi-Arch: same file listed by several packages), a
 * lookup collects all of them and confirms each in its list file.
 */
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/array.h"
#include "base/strbuf.h"
#include "binident/dpkg_index.h"

#define ADMIN_DIR "/var/lib/dpkg"
#define EMPTY_SLOT UINT32_MAX

static const char *const merged_directories[] = {"bin", "sbin", "lib", "lib32", "lib64", "libx32"};
#define MERGED_COUNT (sizeof(merged_directories) / sizeof(merged_directories[0]))

struct package {
	char *name;      /* list file name without ".list" */
	char *version;
};

struct dpkg_index {
	pthread_mutex_t lock;
	char root[PATH_MAX];
	bool built;
	struct timespec info_mtime;
	struct timespec status_mtime;
	bool merged[MERGED_COUNT];     /* /X is a symlink to usr/X under root */
	struct package *packages;
	size_t package_count;
	uint64_t *hashes;
	uint32_t *owners;              /* package number, EMPTY_SLOT when free */
	size_t slot_count;             /* a power of two */
	size_t entry_count;
};

/* snprintf into a path buffer; false when the result did not fit. */
static bool format_path(char *out, size_t size, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

static bool format_path(char *out, size_t size, const char *format, ...)
{
	va_list arguments;
	int length;

	va_start(arguments, format);
	/* The analyzer misreads _FORTIFY_SOURCE's __vsnprintf_chk: va_start is above. */
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
	length = vsnprintf(out, size, format, arguments);
	va_end(arguments);
	return length >= 0 && (size_t)length < size;
}

static uint64_t hash_path(const char *path, size_t length)
{
	uint64_t hash = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < length; i++) {
		hash ^= (unsigned char)path[i];
		hash *= 0x100000001b3ull;
	}
	/* Spread the low bits, which pick the slot. */
	hash ^= hash >> 33;
	hash *= 0xff51afd7ed558ccdull;
	hash ^= hash >> 33;
	return hash;
}

/*
 * Write path's /usr-merge normal form to out (PATH_MAX bytes).  Returns its
 * length, or 0 when it does not fit.
 */
static size_t normalise(const struct dpkg_index *index, const char *path, size_t length,
			char *out)
{
	const char *prefix = "";

	for (size_t i = 0; i < MERGED_COUNT; i++) {
		size_t name_length = strlen(merged_directories[i]);

		if (index->merged[i] && length > name_length + 1 && path[0] == '/' &&
		    strncmp(path + 1, merged_directories[i], name_length) == 0 &&
		    path[name_length + 1] == '/') {
			prefix = "/usr";
			break;
		}
	}
	size_t prefix_length = strlen(prefix);
	if (prefix_length + length >= PATH_MAX)
		return 0;
	memcpy(out, prefix, prefix_length);
	memcpy(out + prefix_length, path, length);
	out[prefix_length + length] = '\0';
	return prefix_length + length;
}

static void find_merged_directories(struct dpkg_index *index)
{
	char link[PATH_MAX];
	char target[PATH_MAX];

	for (size_t i = 0; i < MERGED_COUNT; i++) {
		char wanted[32];

		index->merged[i] = false;
		if (!format_path(link, sizeof(link), "%s/%s", index->root, merged_directories[i]))
			continue;
		ssize_t length = readlink(link, target, sizeof(target) - 1);
		if (length <= 0)
			continue;
		target[length] = '\0';
		snprintf(wanted, sizeof(wanted), "usr/%s", merged_directories[i]);
		index->merged[i] = strcmp(target, wanted) == 0 ||
				   (target[0] == '/' && strcmp(target + 1, wanted) == 0);
	}
}

/* The file's text (malloc'd, NUL-terminated), or NULL. */
static char *read_whole_file(const char *path)
{
	struct strbuf text;

	strbuf_init(&text);
	if (strbuf_read_file(&text, path, SIZE_MAX) != 0) {
		strbuf_free(&text);
		return NULL;
	}
	return text.data;
}

static void free_tables(struct dpkg_index *index)
{
	for (size_t i = 0; i < index->package_count; i++) {
		free(index->packages[i].name);
		free(index->packages[i].version);
	}
	free(index->packages);
	free(index->hashes);
	free(index->owners);
	index->packages = NULL;
	index->package_count = 0;
	index->hashes = NULL;
	index->owners = NULL;
	index->slot_count = 0;
	index->entry_count = 0;
	index->built = false;
}

static int grow_table(struct dpkg_index *index);

static int insert(struct dpkg_index *index, uint64_t hash, uint32_t package)
{
	if (2 * (index->entry_count + 1) > index->slot_count) {
		int result = grow_table(index);

		if (result < 0)
			return result;
	}
	size_t mask = index->slot_count - 1;
	size_t slot = (size_t)hash & mask;
	while (index->owners[slot] != EMPTY_SLOT) {
		if (index->hashes[slot] == hash && index->owners[slot] == package)
			return 0;
		slot = (slot + 1) & mask;
	}
	index->hashes[slot] = hash;
	index->owners[slot] = package;
	index->entry_count++;
	return 0;
}

static int grow_table(struct dpkg_index *index)
{
	size_t old_count = index->slot_count;
	uint64_t *old_hashes = index->hashes;
	uint32_t *old_owners = index->owners;
	size_t slot_count = old_count ? 2 * old_count : 65536;

	index->hashes = calloc(slot_count, sizeof(*index->hashes));
	index->owners = malloc(slot_count * sizeof(*index->owners));
	if (!index->hashes || !index->owners) {
		free(index->hashes);
		free(index->owners);
		index->hashes = old_hashes;
		index->owners = old_owners;
		return -ENOMEM;
	}
	memset(index->owners, 0xff, slot_count * sizeof(*index->owners));
	index->slot_count = slot_count;
	index->entry_count = 0;
	for (size_t i = 0; i < old_count; i++) {
		if (old_owners[i] != EMPTY_SLOT)
			insert(index, old_hashes[i], old_owners[i]);
	}
	free(old_hashes);
	free(old_owners);
	return 0;
}

/* Call visit for each line of text (modified: NULs replace newlines). */
static int for_each_line(char *text, int (*visit)(void *context, char *line, size_t length),
			 void *context)
{
	char *line = text;

	while (*line) {
		char *newline = strchr(line, '\n');
		size_t length = newline ? (size_t)(newline - line) : strlen(line);
		int result;

		if (newline)
			*newline = '\0';
		result = visit(context, line, length);
		if (result != 0)
			return result;
		if (!newline)
			break;
		line = newline + 1;
	}
	return 0;
}

struct list_context {
	struct dpkg_index *index;
	uint32_t package;
};

static int index_line(void *context, char *line, size_t length)
{
	struct list_context *list = context;
	char normal[PATH_MAX];
	size_t normal_length = normalise(list->index, line, length, normal);

	if (normal_length == 0)
		return 0;
	return insert(list->index, hash_path(normal, normal_length), list->package);
}

static int add_package(struct dpkg_index *index, const char *name, size_t *capacity)
{
	struct package *packages = array_reserve(index->packages, capacity,
						 index->package_count + 1, 1024,
						 sizeof(*packages));

	if (!packages)
		return -ENOMEM;
	index->packages = packages;
	struct package *package = &index->packages[index->package_count];
	package->name = strdup(name);
	package->version = NULL;
	if (!package->name)
		return -ENOMEM;
	index->package_count++;
	return 0;
}

static int index_lists(struct dpkg_index *index, const char *info_dir)
{
	size_t capacity = 0;
	struct dirent *entry;
	DIR *directory = opendir(info_dir);
	int result = 0;

	if (!directory)
		return -errno;
	while (result == 0 && (entry = readdir(directory)) != NULL) {
		size_t length = strlen(entry->d_name);
		char path[PATH_MAX];
		char name[256];

		if (length <= 5 || strcmp(entry->d_name + length - 5, ".list") != 0)
			continue;
		if (!format_path(name, sizeof(name), "%.*s", (int)(length - 5), entry->d_name) ||
		    !format_path(path, sizeof(path), "%s/%s", info_dir, entry->d_name))
			continue;
		char *text = read_whole_file(path);
		if (!text)
			continue;   /* removed while we read: the next rebuild sees it */
		result = add_package(index, name, &capacity);
		if (result == 0) {
			struct list_context context = {index, (uint32_t)(index->package_count - 1)};

			result = for_each_line(text, index_line, &context);
		}
		free(text);
	}
	closedir(directory);
	return result;
}

struct status_context {
	struct dpkg_index *index;
	char package[256];
	char architecture[64];
	char version[128];
};

static void copy_field(char *out, size_t size, const char *line, size_t skip)
{
	snprintf(out, size, "%s", line + skip);
}

static void assign_version(struct status_context *status)
{
	char qualified[384];

	if (!status->package[0] || !status->version[0])
		return;
	if (!format_path(qualified, sizeof(qualified), "%s:%s", status->package,
			 status->architecture))
		return;
	for (size_t i = 0; i < status->index->package_count; i++) {
		struct package *package = &status->index->packages[i];

		if (!package->version && (strcmp(package->name, status->package) == 0 ||
					  strcmp(package->name, qualified) == 0))
			package->version = strdup(status->version);
	}
}

static int status_line(void *context, char *line, size_t length)
{
	struct status_context *status = context;

	if (length == 0) {
		assign_version(status);
		status->package[0] = status->architecture[0] = status->version[0] = '\0';
	} else if (strncmp(line, "Package: ", 9) == 0) {
		copy_field(status->package, sizeof(status->package), line, 9);
	} else if (strncmp(line, "Architecture: ", 14) == 0) {
		copy_field(status->architecture, sizeof(status->architecture), line, 14);
	} else if (strncmp(line, "Version: ", 9) == 0) {
		copy_field(status->version, sizeof(status->version), line, 9);
	}
	return 0;
}

static void read_versions(struct dpkg_index *index, const char *status_path)
{
	struct status_context status = {.index = index};
	char *text = read_whole_file(status_path);

	if (!text)
		return;
	for_each_line(text, status_line, &status);
	assign_version(&status);
	free(text);
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* Build (or rebuild when the database moved) the index.  Lock held. */
static int refresh(struct dpkg_index *index)
{
	char info_dir[PATH_MAX];
	char status_path[PATH_MAX];
	struct stat info_status;
	struct stat status_status;

	if (!format_path(info_dir, sizeof(info_dir), "%s%s/info", index->root, ADMIN_DIR) ||
	    !format_path(status_path, sizeof(status_path), "%s%s/status", index->root, ADMIN_DIR))
		return -ENAMETOOLONG;
	if (stat(info_dir, &info_status) < 0)
		return -errno;
	if (stat(status_path, &status_status) < 0)
		memset(&status_status, 0, sizeof(status_status));
	if (index->built && same_time(&index->info_mtime, &info_status.st_mtim) &&
	    same_time(&index->status_mtime, &status_status.st_mtim))
		return 0;
	free_tables(index);
	find_merged_directories(index);
	int result = grow_table(index);
	if (result == 0)
		result = index_lists(index, info_dir);
	if (result < 0) {
		free_tables(index);
		return result;
	}
	read_versions(index, status_path);
	index->info_mtime = info_status.st_mtim;
	index->status_mtime = status_status.st_mtim;
	index->built = true;
	return 0;
}

struct confirm_context {
	const struct dpkg_index *index;
	const char *path;
	bool found;
};

static int confirm_line(void *context, char *line, size_t length)
{
	struct confirm_context *confirm = context;
	char normal[PATH_MAX];

	if (normalise(confirm->index, line, length, normal) > 0 &&
	    strcmp(normal, confirm->path) == 0) {
		confirm->found = true;
		return 1;
	}
	return 0;
}

/* Whether package's list file really has the (normalised) path. */
static bool confirm(const struct dpkg_index *index, const struct package *package,
		    const char *path)
{
	struct confirm_context context = {index, path, false};
	char list_path[PATH_MAX];

	if (!format_path(list_path, sizeof(list_path), "%s%s/info/%s.list", index->root,
			 ADMIN_DIR, package->name))
		return false;
	char *text = read_whole_file(list_path);
	if (!text)
		return false;
	for_each_line(text, confirm_line, &context);
	free(text);
	return context.found;
}

static int find_owners(struct dpkg_index *index, const char *path,
		       struct dpkg_owner *owners, size_t max_owners)
{
	char normal[PATH_MAX];
	size_t length = normalise(index, path, strlen(path), normal);
	int found = 0;

	if (length == 0)
		return 0;
	uint64_t hash = hash_path(normal, length);
	size_t mask = index->slot_count - 1;
	for (size_t slot = (size_t)hash & mask; index->owners[slot] != EMPTY_SLOT;
	     slot = (slot + 1) & mask) {
		if (index->hashes[slot] != hash)
			continue;
		const struct package *package = &index->packages[index->owners[slot]];
		if (!confirm(index, package, normal))
			continue;
		if ((size_t)found < max_owners) {
			snprintf(owners[found].package, sizeof(owners[found].package), "%s",
				 package->name);
			snprintf(owners[found].version, sizeof(owners[found].version), "%s",
				 package->version ? package->version : "");
		}
		found++;
	}
	return found;
}

int dpkg_index_open(const char *root, struct dpkg_index **out)
{
	struct dpkg_index *index = calloc(1, sizeof(*index));

	*out = NULL;
	if (!index)
		return -ENOMEM;
	/* "/" and "" both mean this host: paths are built as ROOT + "/var/...". */
	if (!format_path(index->root, sizeof(index->root), "%s",
			 root && strcmp(root, "/") != 0 ? root : "")) {
		free(index);
		return -ENAMETOOLONG;
	}
	pthread_mutex_init(&index->lock, NULL);
	*out = index;
	return 0;
}

void dpkg_index_close(struct dpkg_index *index)
{
	if (!index)
		return;
	free_tables(index);
	pthread_mutex_destroy(&index->lock);
	free(index);
}

int dpkg_index_lookup(struct dpkg_index *index, const char *path,
		      struct dpkg_owner *owners, size_t max_owners)
{
	int result;

	pthread_mutex_lock(&index->lock);
	result = refresh(index);
	if (result == 0)
		result = find_owners(index, path, owners, max_owners);
	pthread_mutex_unlock(&index->lock);
	return result;
}

size_t dpkg_index_size(struct dpkg_index *index)
{
	size_t size;

	pthread_mutex_lock(&index->lock);
	size = index->entry_count;
	pthread_mutex_unlock(&index->lock);
	return size;
}
