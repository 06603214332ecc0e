/*
 * wine_loaders.h - which files are Wine's loader, by what they are.
 *
 * Any user can build an ELF and call it wine64 (issue 9): a loader
 * recognised by its name would let them make the agent take the identity
 * of whatever file their argv names.  So a loader or preloader exec counts
 * as a step of Wine's chain only when the file that ran is one of the
 * loaders the system's packages installed: the files named wine, wine64,
 * wine-preloader, wine64-preloader listed by a package whose name starts
 * with "wine" in the dpkg database (/var/lib/dpkg/info/wine*.list: Debian's
 * wine64, wine32, wine64-preloader, WineHQ's wine-stable-amd64...), and
 * the files an administrator adds (--wine-loader PATH, e.g. a Wine built
 * from source).  "Is" means the same device and inode as the exec's file,
 * as the kernel reported it: a copy, a bind mount over the path in a user's
 * mount namespace, or a file of the same name elsewhere is not the loader.
 *
 * The set is small (a handful of files), read at start and again when the
 * dpkg database changes (wine_loaders_refresh(), from the agent's timer).
 * It reads root's files only (the dpkg database, the packaged paths), so
 * the main thread may do it.
 */
#ifndef RMMHUNT_AGENT_WINE_LOADERS_H
#define RMMHUNT_AGENT_WINE_LOADERS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define WINE_LOADERS_MAX 32
#define WINE_LOADERS_EXTRA_MAX 8

struct wine_loader_file {
	uint64_t device, inode;
};

struct wine_loaders {
	char dpkg_info[256]; /* the dpkg info directory ("" : none) */
	struct timespec info_mtime; /* when the set was read */
	struct wine_loader_file files[WINE_LOADERS_MAX];
	uint32_t count;
	const char *extra[WINE_LOADERS_EXTRA_MAX]; /* --wine-loader paths */
	uint32_t extra_count;
};

/* An empty set over the dpkg database under root ("/"; NULL: none). */
void wine_loaders_init(struct wine_loaders *loaders, const char *root);

/* Trust path as a loader too (kept by reference).  -ENOSPC when full. */
int wine_loaders_add_path(struct wine_loaders *loaders, const char *path);

/* Read the set again if the dpkg database changed (or force). */
void wine_loaders_refresh(struct wine_loaders *loaders, bool force);

/* Is the file (device, inode: user-space dev_t) one of the loaders? */
bool wine_loaders_contain(const struct wine_loaders *loaders, uint64_t device,
			  uint64_t inode);

#endif
