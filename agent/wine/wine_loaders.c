/*
 * wine_loaders.c - which files are Wine's loader (see wine_loaders.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/strbuf.h"
#include "base/text.h"
#include "wine/wine.h"
#include "wine/wine_loaders.h"

#define LIST_FILE_MAX ((size_t)4 << 20)

void wine_loaders_init(struct wine_loaders *loaders, const char *root)
{
	memset(loaders, 0, sizeof(*loaders));
	if (root)
		snprintf(loaders->dpkg_info, sizeof(loaders->dpkg_info), "%s/var/lib/dpkg/info",
			 strcmp(root, "/") == 0 ? "" : root);
}

int wine_loaders_add_path(struct wine_loaders *loaders, const char *path)
{
	if (loaders->extra_count == WINE_LOADERS_EXTRA_MAX)
		return -ENOSPC;
	loaders->extra[loaders->extra_count++] = path;
	return 0;
}

static void add_file(struct wine_loaders *loaders, const char *path)
{
	struct stat status;

	if (loaders->count == WINE_LOADERS_MAX || stat(path, &status) != 0 ||
	    !S_ISREG(status.st_mode))
		return;
	if (wine_loaders_contain(loaders, status.st_dev, status.st_ino))
		return;
	loaders->files[loaders->count++] =
		(struct wine_loader_file){.device = status.st_dev, .inode = status.st_ino};
}

/* The loaders a package's list names ("wine64.list": one path a line). */
static void add_listed(struct wine_loaders *loaders, const char *list_path)
{
	struct strbuf text;
	char *line, *saved = NULL;

	strbuf_init(&text);
	if (strbuf_read_file(&text, list_path, LIST_FILE_MAX) == 0) {
		for (line = strtok_r(text.data, "\n", &saved); line;
		     line = strtok_r(NULL, "\n", &saved)) {
			if (line[0] == '/' && wine_is_loader_file_name(text_basename(line)))
				add_file(loaders, line);
		}
	}
	strbuf_free(&text);
}

static bool is_wine_list(const char *name)
{
	size_t length = strlen(name);

	return strncmp(name, "wine", 4) == 0 && length > 5 &&
	       strcmp(name + length - 5, ".list") == 0;
}

void wine_loaders_refresh(struct wine_loaders *loaders, bool force)
{
	struct stat status;
	struct dirent *entry;
	DIR *directory;

	if (!loaders->dpkg_info[0] || stat(loaders->dpkg_info, &status) != 0) {
		status.st_mtim = (struct timespec){0};
		if (!force)
			return;
	}
	if (!force && status.st_mtim.tv_sec == loaders->info_mtime.tv_sec &&
	    status.st_mtim.tv_nsec == loaders->info_mtime.tv_nsec)
		return;
	loaders->info_mtime = status.st_mtim;
	loaders->count = 0;
	directory = loaders->dpkg_info[0] ? opendir(loaders->dpkg_info) : NULL;
	while (directory && (entry = readdir(directory))) {
		char path[512];

		if (!is_wine_list(entry->d_name) ||
		    snprintf(path, sizeof(path), "%s/%s", loaders->dpkg_info, entry->d_name) >=
			    (int)sizeof(path))
			continue;
		add_listed(loaders, path);
	}
	if (directory)
		closedir(directory);
	for (uint32_t i = 0; i < loaders->extra_count; i++)
		add_file(loaders, loaders->extra[i]);
}

bool wine_loaders_contain(const struct wine_loaders *loaders, uint64_t device,
			  uint64_t inode)
{
	for (uint32_t i = 0; i < loaders->count; i++) {
		if (loaders->files[i].device == device && loaders->files[i].inode == inode)
			return true;
	}
	return false;
}
