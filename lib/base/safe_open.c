/*
 * safe_open.c - opening a file that someone else named (see safe_open.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "base/safe_open.h"

#define SAFE_OPEN_FLAGS (O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)

/* openat2 refusing every link on the way; -ENOSYS on kernels before 5.6. */
static int open_without_links(const char *path)
{
	struct open_how how;
	long fd;

	memset(&how, 0, sizeof(how));
	how.flags = SAFE_OPEN_FLAGS | O_NOFOLLOW;
	how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

int safe_open_file(const char *path, enum safe_open_links links, struct stat *status)
{
	int fd = -ENOSYS;

	if (links == SAFE_OPEN_NO_LINKS)
		fd = open_without_links(path);
	if (fd == -ENOSYS) {
		fd = open(path, SAFE_OPEN_FLAGS | O_NOFOLLOW);
		if (fd < 0)
			fd = -errno;
	}
	if (fd < 0)
		return fd;
	if (fstat(fd, status) != 0) {
		int error = errno;

		close(fd);
		return -error;
	}
	if (!S_ISREG(status->st_mode)) {
		close(fd);
		return -ENOEXEC;
	}
	return fd;
}
