/*
 * privileges.h - what the agent may still do once its probe is attached.
 *
 * Loading and attaching the probe needs CAP_BPF and CAP_PERFMON (and
 * CAP_SYS_ADMIN for the kernel's run-time statistics only: the packaged
 * unit goes without them); what the agent does
 * afterwards, for as long as it runs, while it parses files and reads the
 * /proc of processes a hostile user controls (issue 9), needs two:
 *   - CAP_DAC_READ_SEARCH: read any user's executables to hash them and
 *     read their identity, list their Wine prefixes' directories;
 *   - CAP_SYS_PTRACE: open /proc/PID/exe and read /proc/PID/environ and
 *     /proc/PID/maps of another user's processes (the kernel asks for
 *     PTRACE_MODE_READ on them).
 * Everything else goes, from the effective, permitted, inheritable,
 * ambient and bounding sets, and no_new_privs is set.  The agent stays uid
 * 0, so it still owns its state directory (root's), but it can no longer
 * write anyone else's file, load BPF, trace, signal or reconfigure anything.
 * The ring buffer, the maps and the links work through the fds it holds.
 *
 * Capabilities belong to threads: privileges_drop() must run before the
 * agent starts any thread, which then inherit the smaller set.  The
 * packaging's systemd unit names the same two (docs/operations.md).
 */
#ifndef RMMHUNT_AGENT_PRIVILEGES_H
#define RMMHUNT_AGENT_PRIVILEGES_H

#include <stddef.h>
#include <stdint.h>

/* The capabilities the agent keeps (bits by CAP_* number). */
uint64_t privileges_kept(void);

/* Their names, "cap_dac_read_search,cap_sys_ptrace". */
const char *privileges_kept_names(void);

/*
 * Drop every capability but the kept ones, from every set, and set
 * no_new_privs; then check the kernel agrees.  Returns 0, or -errno with
 * a sentence in message.
 */
int privileges_drop(char *message, size_t message_size);

/* The calling thread's effective set now (bits by CAP_* number). */
uint64_t privileges_effective(void);

#endif
