/*
 * exec_event.h - the contract between the exec probe (exec.bpf.c) and the
 * agent (agent/sensor.c, agent/exec_facts.c).
 *
 * The probe writes one variable-length record per kernel event into a BPF
 * ring buffer; the agent reads them back with the same structs.  Every event
 * starts with struct event_header.  An exec (or, at start-up, one process
 * found by the task iterator) is a struct exec_event: the header, the fixed
 * struct exec_info, then a data area that holds, packed one after another:
 *
 *   filename   bprm->filename, NUL-terminated           (filename_len with NUL)
 *   interp     bprm->interp, NUL-terminated              (interp_len with NUL)
 *   exe path   components of bprm->file's path, leaf first, each NUL-terminated
 *   cwd path   components of the cwd, leaf first, each NUL-terminated
 *   cgroup     leaf name of the task's cgroup v2 node, NUL-terminated
 *   argv       mm->arg_start..arg_end, as many bytes as were captured
 *
 * Kernel pointers and layouts never cross this boundary: only numbers and
 * bytes.  Both sides compile this header; keep it free of kernel and libc
 * includes beyond fixed-width integer types.
 */
#ifndef RMMHUNT_EXEC_EVENT_H
#define RMMHUNT_EXEC_EVENT_H

#ifndef __BPF__
#include <linux/types.h>
#endif

/* Largest argv capture the probe is built for; the agent may ask for less
 * at load time (never less than 32 KiB). */
#define EXEC_ARGS_MAX (64 * 1024)
/* Largest filename or interp string. */
#define EXEC_STRING_MAX 4096
/* One path (exe or cwd): at most this many bytes and components. */
#define EXEC_PATH_MAX 4096
#define EXEC_PATH_COMPONENTS_MAX 64
#define EXEC_NAME_MAX 256
#define EXEC_CGROUP_NAME_MAX 128
#define EXEC_TTY_NAME_MAX 32
#define EXEC_COMM_MAX 16
#define EXEC_FSTYPE_MAX 16

/*
 * The data area.  Strings and paths are packed in its first half (they need
 * at most 2 * 4096 + 2 * 4096 + 128 bytes); argv starts where they end and
 * may reach into the second half.  The probe masks every write offset into
 * those bounds, which is what lets the verifier prove the writes safe
 * without following each loop iteration: see exec.bpf.c.
 */
#define EXEC_DATA_HALF (64 * 1024)
#define EXEC_ARGS_CHUNK 4096
#define EXEC_DATA_MAX (2 * EXEC_DATA_HALF + EXEC_ARGS_CHUNK)

enum event_type {
	EVENT_EXEC = 1, /* sched_process_exec */
	EVENT_FORK = 2, /* sched_process_fork, new processes only */
	EVENT_EXIT = 3, /* sched_process_exit, when the thread group dies */
	EVENT_SCAN = 4, /* task iterator: a process that existed at start */
	EVENT_TYPE_COUNT
};

/* Per-CPU counters (map "counters"), indexed by this enum. */
enum probe_counter {
	COUNTER_EXEC_SEEN,
	COUNTER_FORK_SEEN,
	COUNTER_EXIT_SEEN,
	COUNTER_EXEC_LOST, /* ring buffer output failed: event dropped */
	COUNTER_FORK_LOST,
	COUNTER_EXIT_LOST,
	COUNTER_SCAN_LOST, /* iterator could not write its record */
	COUNTER_ARGS_READ_FAILED, /* argv unreadable: record has partial argv */
	COUNTER_SCRATCH_MISSING, /* no scratch buffer for this CPU */
	COUNTER_COUNT
};

/* exec_info.flags */
#define EXEC_FLAG_EXE_DELETED (1u << 0) /* exe inode has nlink 0 or is unhashed */
#define EXEC_FLAG_EXE_INTERNAL_MOUNT (1u << 1) /* memfd, anonymous files */
#define EXEC_FLAG_EXE_PATH_TRUNCATED (1u << 2)
#define EXEC_FLAG_EXE_PATH_DETACHED (1u << 3) /* walk ended outside the tree */
#define EXEC_FLAG_CWD_PATH_TRUNCATED (1u << 4)
#define EXEC_FLAG_ARGS_TRUNCATED (1u << 5)
#define EXEC_FLAG_ARGS_READ_FAILED (1u << 6)
#define EXEC_FLAG_FILENAME_TRUNCATED (1u << 7)
#define EXEC_FLAG_KERNEL_THREAD (1u << 8) /* scan: no mm, no exe */
#define EXEC_FLAG_HAS_TTY (1u << 9)

struct event_header {
	__u32 type; /* enum event_type */
	__u32 size; /* whole record, header included */
	__u64 time_boot_ns; /* bpf_ktime_get_boot_ns() when it happened */
	__u32 pid; /* thread-group id, initial pid namespace */
	__u32 tid;
	__u64 start_boot_ns; /* start_boottime of the group leader */
};

struct fork_event {
	struct event_header header; /* pid/start: the child */
	__u32 parent_pid;
	__u32 pad;
	__u64 parent_start_boot_ns;
};

struct exit_event {
	struct event_header header;
	__s32 exit_code; /* as wait(2) encodes it */
	__u32 pad;
};

/* The fixed part of an exec or scan record. */
struct exec_info {
	__u32 old_tid; /* the tid that called execve (differs in threaded execs) */
	__u32 parent_pid; /* real_parent's thread group at exec time */
	__u64 parent_start_boot_ns;
	__u32 uid, euid, gid, egid;
	__u32 loginuid; /* audit login uid, 4294967295 = unset */
	__u32 sessionid; /* audit session id, 4294967295 = unset */
	__u64 cgroup_id;
	__u32 mnt_ns, pid_ns, net_ns;
	__u32 ns_pid; /* pid as seen inside its own pid namespace */
	__u32 flags; /* EXEC_FLAG_* */
	__u32 exe_nlink;
	__u32 exe_mode;
	__u32 exe_dev_major, exe_dev_minor;
	__u32 exe_ctime_nsec, exe_mtime_nsec;
	__u32 pad;
	__u64 exe_ino;
	__s64 exe_size;
	__s64 exe_ctime_sec, exe_mtime_sec;
	__u64 fs_magic; /* super block magic of the exe's file system */
	__u32 args_total; /* mm->arg_end - arg_start: the whole argv */
	__u32 args_len; /* bytes of argv in the data area */
	__u16 filename_len, interp_len; /* with their NULs */
	__u16 exe_path_len, cwd_path_len; /* component bytes, NULs included */
	__u16 cgroup_name_len, pad2;
	char comm[EXEC_COMM_MAX];
	char tty[EXEC_TTY_NAME_MAX];
	char fstype[EXEC_FSTYPE_MAX];
};

/*
 * A file version the agent has hashed and needs no prompt look at (map
 * "known_files", filled by the agent).  While the agent sleeps (the global
 * agent_sleeping), the probe wakes it for an exec that needs a look while
 * the process lives: a file version not in the map, a script, a cut argv,
 * a deleted file.  Other records wait for the agent's next turn.
 */
struct known_file {
	__u32 dev_major, dev_minor;
	__u64 ino;
	__s64 ctime_sec;
	__u32 ctime_nsec;
	__u32 pad;
};

/* The key of an exec's file version, for the probe and the agent alike. */
static inline void known_file_of(struct known_file *key, const struct exec_info *info)
{
	key->dev_major = info->exe_dev_major;
	key->dev_minor = info->exe_dev_minor;
	key->ino = info->exe_ino;
	key->ctime_sec = info->exe_ctime_sec;
	key->ctime_nsec = info->exe_ctime_nsec;
	key->pad = 0;
}

struct exec_event {
	struct event_header header;
	struct exec_info info;
	/* the probe's own cursor while it walks a path; means nothing here */
	__u64 walk_offset;
	char data[EXEC_DATA_MAX];
};

#endif
