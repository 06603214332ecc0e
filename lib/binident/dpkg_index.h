/*
 * dpkg_index.h - which Debian package owns a file, from the dpkg database.
 *
 * dpkg records the files of every installed package in
 * /var/lib/dpkg/info/PACKAGE[:ARCH].list, one path a line, and versions in
 * /var/lib/dpkg/status.  `dpkg -S` reads every list for each question; the
 * sensor asks for every new executable, so it indexes once: a table of
 * 64-bit path hashes -> package (about 12 bytes a path, ~170k paths on a
 * desktop), built on the first lookup and rebuilt when the database changes
 * (the info directory's or the status file's mtime moves).  A hash hit is
 * confirmed against the package's list file, so answers are exact.
 *
 * /usr-merge: on merged systems /bin, /sbin, /lib* are symlinks to their
 * /usr counterparts, while packages still list e.g. /bin/bash.  Paths are
 * normalised (/bin/x -> /usr/bin/x for each such symlink found under root)
 * both when indexed and when looked up.  Diversions and alternatives are not
 * followed: the path asked for is the file that ran.
 *
 * The index is an object owned by its caller; lookups are thread-safe.
 */
#ifndef RMMHUNT_DPKG_INDEX_H
#define RMMHUNT_DPKG_INDEX_H

#include <stddef.h>

struct dpkg_index;

struct dpkg_owner {
	char package[128];       /* "coreutils", or "libc6:amd64" for Multi-Arch: same */
	char version[128];       /* from the status file; "" when unknown */
};

/*
 * An index over the dpkg database of the system mounted at root ("/" for
 * this host; tests use a directory tree with var/lib/dpkg).  Nothing is read
 * until the first lookup.  Returns 0, -ENOMEM, or -ENAMETOOLONG (root too
 * long for a path).
 */
int dpkg_index_open(const char *root, struct dpkg_index **out);

void dpkg_index_close(struct dpkg_index *index);

/*
 * The packages owning path (absolute).  Fills up to max_owners entries and
 * returns how many packages own it (0: none), or a negative errno when the
 * database cannot be read (-ENOENT: no dpkg database under root).
 */
int dpkg_index_lookup(struct dpkg_index *index, const char *path,
		      struct dpkg_owner *owners, size_t max_owners);

/* Paths indexed (after a lookup built the index), for tests and status. */
size_t dpkg_index_size(struct dpkg_index *index);

#endif
