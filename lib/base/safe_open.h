/*
 * safe_open.h - opening a file that someone else named.
 *
 * The agent opens paths an unprivileged user chose: the path of a file they
 * exec'd (which they may have replaced since), a program named in argv, a
 * file a process mapped.  Such a path may name a FIFO (open blocks until a
 * writer comes: the agent would hang), a device (open acts), or lead through
 * a symbolic link to a file the user cannot read themselves (the agent,
 * reading it for them, would leak it).  safe_open_file() opens read-only,
 * O_NONBLOCK (a FIFO cannot block the open), O_NOCTTY, O_CLOEXEC, never
 * follows a link where it is told not to, and returns a regular file or
 * nothing: the caller may read it at once.
 */
#ifndef RMMHUNT_SAFE_OPEN_H
#define RMMHUNT_SAFE_OPEN_H

#include <sys/stat.h>

enum safe_open_links {
	/* the file itself must not be a link (O_NOFOLLOW); directories on the
	 * way may be (a Wine prefix's drive letters are links) */
	SAFE_OPEN_NO_FINAL_LINK,
	/* no link anywhere on the way (openat2 RESOLVE_NO_SYMLINKS and
	 * RESOLVE_NO_MAGICLINKS): for a path the kernel itself reported
	 * (an exe's path, a mapped file's), which has none unless someone
	 * changed it since */
	SAFE_OPEN_NO_LINKS,
};

/*
 * Open path (absolute, or relative to the working directory).  Returns the
 * fd, with *status filled by fstat; or -errno: -ELOOP for a link refused,
 * -ENOEXEC when it is not a regular file (a FIFO, a device, a directory),
 * or what open(2) said.
 */
int safe_open_file(const char *path, enum safe_open_links links, struct stat *status);

#endif
