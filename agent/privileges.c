/*
 * privileges.c - drop the capabilities the agent no longer needs (see
 * privileges.h).  Raw capget/capset and prctl: no library for two calls.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include "privileges.h"

#define CAP_BIT(cap) ((uint64_t)1 << (cap))

uint64_t privileges_kept(void)
{
	return CAP_BIT(CAP_DAC_READ_SEARCH) | CAP_BIT(CAP_SYS_PTRACE);
}

const char *privileges_kept_names(void)
{
	return "cap_dac_read_search,cap_sys_ptrace";
}

/* The highest capability this kernel knows. */
static int last_capability(void)
{
	FILE *file = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int last = 40;

	if (file) {
		if (fscanf(file, "%d", &last) != 1)
			last = 40;
		fclose(file);
	}
	return last < 63 ? last : 63;
}

static int get_sets(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3};

	memset(data, 0, 2 * sizeof(*data));
	return syscall(SYS_capget, &header, data) == 0 ? 0 : -errno;
}

uint64_t privileges_effective(void)
{
	struct __user_cap_data_struct data[2];

	if (get_sets(data) != 0)
		return 0;
	return (uint64_t)data[1].effective << 32 | data[0].effective;
}

static int fail(char *message, size_t size, const char *what, int error)
{
	snprintf(message, size, "cannot drop capabilities: %s: %s", what, strerror(error));
	return -error;
}

int privileges_drop(char *message, size_t message_size)
{
	struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	uint64_t kept = privileges_kept();
	int last = last_capability();

	/* the bounding set first: dropping from it needs CAP_SETPCAP, which
	 * goes with the rest below.  Started without it (the systemd unit's
	 * CapabilityBoundingSet names only what the probe needs), the few
	 * others in the bounding set stay there, unreachable: they leave the
	 * permitted set below, and no_new_privs keeps an exec from getting
	 * them back (the kernel caps an exec's permitted set at the old one). */
	bool can_shrink_bounding = privileges_effective() & CAP_BIT(CAP_SETPCAP);

	for (int cap = 0; cap <= last && can_shrink_bounding; cap++) {
		if (!(kept & CAP_BIT(cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 &&
		    errno != EINVAL)
			return fail(message, message_size, "PR_CAPBSET_DROP", errno);
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
		return fail(message, message_size, "PR_CAP_AMBIENT_CLEAR_ALL", errno);
	memset(data, 0, sizeof(data));
	data[0].effective = data[0].permitted = (uint32_t)kept;
	data[1].effective = data[1].permitted = (uint32_t)(kept >> 32);
	if (syscall(SYS_capset, &header, data) != 0)
		return fail(message, message_size, "capset", errno);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return fail(message, message_size, "PR_SET_NO_NEW_PRIVS", errno);
	if (get_sets(data) != 0 || data[0].permitted != (uint32_t)kept ||
	    data[1].permitted != (uint32_t)(kept >> 32) || data[0].inheritable ||
	    data[1].inheritable)
		return fail(message, message_size, "the kernel kept more", EPERM);
	return 0;
}
