// SPDX-License-Identifier: GPL-2.0
/*
 * exec.bpf.c - the rmmhunt exec probe.
 *
 * Tracepoints only (our kernels have no kprobes, and fentry/LSM are refused
 * under lockdown):
 *
 *   tp_btf/sched_process_exec  one exec_event per successful exec, read after
 *                              the new image is in place: bprm->filename (what
 *                              was asked), bprm->interp, the path and inode
 *                              of bprm->file (what runs), cwd, credentials,
 *                              namespaces, cgroup, tty, and argv copied in one
 *                              read from the new mm;
 *   tp_btf/sched_process_fork  one fork_event per new process (not threads);
 *   tp_btf/sched_process_exit  one exit_event when a thread group dies;
 *   iter.s/task                at start-up, one EVENT_SCAN exec_event per
 *                              existing process, through the same ring buffer.
 *
 * Events are built in a scratch buffer and copied to the ring buffer with
 * their real length.  Every failed output is counted per CPU and event type
 * in "counters"; the agent reports the counts, so no loss is silent.
 * The layout of the records is in exec_event.h, shared with the agent.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "exec_event.h"

char LICENSE[] SEC("license") = "GPL";

extern void *bpf_rdonly_cast(const void *object, __u32 btf_id) __ksym;

/* Set by the agent before load. */
const volatile __u32 args_capture_max = EXEC_ARGS_MAX;
const volatile __u32 scan_args_capture_max = 16 * 1024;
/* Wake the agent only when this much waits; it also polls on a timer.  One
 * wakeup per event cost more than the event itself (bench/bench_exec.sh). */
const volatile __u64 wakeup_bytes = 1 << 20;
/* Set by the agent while it sleeps long (struct known_file says when the
 * probe wakes it then). */
volatile __u32 agent_sleeping;

#define MNT_NS_INTERNAL (-22L)
/* nanoseconds fit in 30 bits; kernels keep flags above them */
#define NSEC_MASK ((1u << 30) - 1)
#define KERNEL_MINOR_BITS 20
#define KERNEL_MINOR_MASK ((1u << KERNEL_MINOR_BITS) - 1)
#define ARGS_CHUNK EXEC_ARGS_CHUNK
/* Offsets of strings and paths stay below EXEC_DATA_HALF... */
#define STRINGS_MASK (EXEC_DATA_HALF - 1)
/* ...and argv chunks below twice that (EXEC_DATA_MAX leaves a chunk over). */
#define ARGS_MASK (2 * EXEC_DATA_HALF - 1)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* resized by the agent */
} events SEC(".maps");

/* File versions the agent has hashed (struct known_file); least recently
 * used forgotten first.  A value is not used. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384); /* set by the agent */
	__type(key, struct known_file);
	__type(value, __u8);
} known_files SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, COUNTER_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* One exec_event per CPU (max_entries set to the CPU count by the agent):
 * the tracepoints run with preemption disabled, so a CPU's slot is never
 * shared by two events at once.  Too big for a per-CPU array. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_event);
} scratch SEC(".maps");

/* The task iterator sleeps and may migrate: it has a slot of its own. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_event);
} scan_scratch SEC(".maps");

/* inode time fields moved twice; CO-RE picks the one this kernel has. */
struct inode___v611 {
	time64_t i_ctime_sec;
	u32 i_ctime_nsec;
	time64_t i_mtime_sec;
	u32 i_mtime_nsec;
} __attribute__((preserve_access_index));

struct inode___v66 {
	struct timespec64 __i_ctime;
	struct timespec64 __i_mtime;
} __attribute__((preserve_access_index));

struct inode___old {
	struct timespec64 i_ctime;
	struct timespec64 i_mtime;
} __attribute__((preserve_access_index));

static __always_inline void count(__u32 counter)
{
	__u64 *value = bpf_map_lookup_elem(&counters, &counter);

	if (value)
		*value += 1;
}

static __always_inline __u64 wakeup_flag(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes
		       ? BPF_RB_FORCE_WAKEUP
		       : BPF_RB_NO_WAKEUP;
}

/* Does the sleeping agent need to see this exec now (struct known_file)? */
static __always_inline bool exec_is_urgent(const struct exec_event *event,
					   const struct linux_binprm *bprm)
{
	struct known_file key;

	if (event->info.flags & (EXEC_FLAG_ARGS_TRUNCATED | EXEC_FLAG_EXE_DELETED |
				 EXEC_FLAG_EXE_INTERNAL_MOUNT))
		return true;
	if (bprm->interp != bprm->filename) /* a script, binfmt_misc */
		return true;
	known_file_of(&key, &event->info);
	return bpf_map_lookup_elem(&known_files, &key) == NULL;
}

static __always_inline __u64 exec_wakeup_flag(const struct exec_event *event,
					       const struct linux_binprm *bprm)
{
	if (agent_sleeping && exec_is_urgent(event, bprm))
		return BPF_RB_FORCE_WAKEUP;
	return wakeup_flag();
}

static __always_inline void fill_header(struct event_header *header, __u32 type,
					 struct task_struct *task)
{
	header->type = type;
	header->time_boot_ns = bpf_ktime_get_boot_ns();
	header->pid = task->tgid;
	header->tid = task->pid;
	header->start_boot_ns = task->group_leader->start_boottime;
}

static __always_inline void read_inode_times(struct inode *inode,
					      struct exec_event *event)
{
	struct inode___v611 *v611 = (void *)inode;
	struct inode___v66 *v66 = (void *)inode;
	struct inode___old *old = (void *)inode;

	if (bpf_core_field_exists(v611->i_ctime_sec)) {
		event->info.exe_ctime_sec = v611->i_ctime_sec;
		/* bit 31 of i_ctime_nsec is the multigrain "queried" flag */
		event->info.exe_ctime_nsec = v611->i_ctime_nsec & NSEC_MASK;
		event->info.exe_mtime_sec = v611->i_mtime_sec;
		event->info.exe_mtime_nsec = v611->i_mtime_nsec & NSEC_MASK;
	} else if (bpf_core_field_exists(v66->__i_ctime)) {
		event->info.exe_ctime_sec = v66->__i_ctime.tv_sec;
		event->info.exe_ctime_nsec = v66->__i_ctime.tv_nsec;
		event->info.exe_mtime_sec = v66->__i_mtime.tv_sec;
		event->info.exe_mtime_nsec = v66->__i_mtime.tv_nsec;
	} else {
		event->info.exe_ctime_sec = old->i_ctime.tv_sec;
		event->info.exe_ctime_nsec = old->i_ctime.tv_nsec;
		event->info.exe_mtime_sec = old->i_mtime.tv_sec;
		event->info.exe_mtime_nsec = old->i_mtime.tv_nsec;
	}
}

/* Inode facts of the file that runs; no path here. */
/* struct mount around a vfsmount, as a pointer the verifier can follow */
static __always_inline struct mount *real_mount(struct vfsmount *vfsmnt)
{
	return bpf_rdonly_cast((void *)vfsmnt - bpf_core_field_offset(struct mount, mnt),
			       bpf_core_type_id_kernel(struct mount));
}

/* Inode facts of the file that runs; no path here. */
static __always_inline void read_exe_facts(struct file *file,
					    struct exec_event *event)
{
	struct inode *inode = file->f_inode;
	struct super_block *sb = inode->i_sb;
	struct dentry *dentry = file->f_path.dentry;
	struct mount *mnt = real_mount(file->f_path.mnt);
	/* kern_mount()ed file systems (shmem for memfd, pipes, anon inodes)
	 * carry MNT_NS_INTERNAL, ERR_PTR(-EINVAL), as their namespace */
	bool internal = (long)mnt->mnt_ns == MNT_NS_INTERNAL;
	dev_t dev = sb->s_dev;

	event->info.exe_dev_major = dev >> KERNEL_MINOR_BITS;
	event->info.exe_dev_minor = dev & KERNEL_MINOR_MASK;
	event->info.exe_ino = inode->i_ino;
	event->info.exe_size = inode->i_size;
	event->info.exe_nlink = inode->__i_nlink;
	event->info.exe_mode = inode->i_mode;
	event->info.fs_magic = sb->s_magic;
	bpf_probe_read_kernel_str(event->info.fstype, sizeof(event->info.fstype),
				  sb->s_type->name);
	read_inode_times(inode, event);
	if (internal)
		event->info.flags |= EXEC_FLAG_EXE_INTERNAL_MOUNT;
	if (event->info.exe_nlink == 0 || (!internal && !dentry->d_hash.pprev))
		event->info.flags |= EXEC_FLAG_EXE_DELETED;
}

/*
 * State of one path walk, for bpf_loop.  The write cursor lives in the map
 * value (event->walk_offset), not here: the verifier does not track map
 * memory, so every iteration starts from the same abstract state and the
 * callback is verified in a few passes instead of once per component.
 */
struct path_walk {
	struct exec_event *event;
	struct dentry *dentry;
	struct mount *mnt;
	__u64 start;
	__u32 truncated_flag;
	bool finished;
};

/* One step up the tree: emit a name, or cross a mount, or stop (return 1). */
static long path_walk_step(__u64 index, void *context)
{
	struct path_walk *walk = context;
	struct dentry *dentry = walk->dentry;
	struct mount *mnt = walk->mnt;
	struct dentry *mnt_root = mnt->mnt.mnt_root;
	struct dentry *parent = dentry->d_parent;
	struct exec_event *event = walk->event;
	__u64 offset = event->walk_offset;
	long length;

	if (dentry == mnt_root || dentry == parent) {
		struct mount *mnt_parent = mnt->mnt_parent;

		if (dentry != mnt_root) {
			/* A pseudo file (memfd, anonymous): its own root.  Keep
			 * its name, as d_path does ("/memfd:name"). */
			event->info.flags |= EXEC_FLAG_EXE_PATH_DETACHED;
			walk->finished = true;
			length = bpf_probe_read_kernel_str(
				&event->data[offset & STRINGS_MASK], EXEC_NAME_MAX,
				dentry->d_name.name);
			if (length > 0)
				event->walk_offset = (offset + length) & STRINGS_MASK;
			return 1;
		}
		if (mnt == mnt_parent) {
			walk->finished = true;
			return 1;
		}
		walk->dentry = mnt->mnt_mountpoint;
		walk->mnt = mnt_parent;
		return 0;
	}
	if (offset - walk->start > EXEC_PATH_MAX - EXEC_NAME_MAX)
		return 1;
	length = bpf_probe_read_kernel_str(&event->data[offset & STRINGS_MASK],
					   EXEC_NAME_MAX, dentry->d_name.name);
	if (length <= 0)
		return 1;
	event->walk_offset = (offset + length) & STRINGS_MASK;
	walk->dentry = parent;
	return 0;
}

/*
 * Write the components of a path, leaf first, each NUL-terminated, at
 * event->data[offset]; cross mount points upwards until the root mount.
 * Returns the offset after the last byte written.  Bounded: at most
 * EXEC_PATH_COMPONENTS_MAX steps and EXEC_PATH_MAX bytes.
 */
static __always_inline __u64 write_path(struct exec_event *event, __u64 offset,
					 const struct path *path,
					 __u32 truncated_flag)
{
	struct path_walk walk = {
		.event = event,
		.dentry = path->dentry,
		.mnt = real_mount(path->mnt),
		.start = offset,
		.truncated_flag = truncated_flag,
	};

	event->walk_offset = offset;
	bpf_loop(EXEC_PATH_COMPONENTS_MAX, path_walk_step, &walk, 0);
	if (!walk.finished)
		event->info.flags |= truncated_flag;
	return event->walk_offset & STRINGS_MASK;
}

static __always_inline __u64 write_string(struct exec_event *event, __u64 offset,
					   const char *string, __u16 *length_out)
{
	long length;

	*length_out = 0;
	if (!string)
		return offset;
	length = bpf_probe_read_kernel_str(&event->data[offset & STRINGS_MASK],
					   EXEC_STRING_MAX, string);
	if (length <= 0)
		return offset;
	if (length == EXEC_STRING_MAX)
		event->info.flags |= EXEC_FLAG_FILENAME_TRUNCATED;
	*length_out = length;
	return (offset + length) & STRINGS_MASK;
}

/* Facts of a task that do not depend on how we were called. */
static __always_inline void read_task_facts(struct task_struct *task,
					     struct exec_event *event)
{
	struct task_struct *parent = task->real_parent;
	struct pid *thread_pid = task->thread_pid;
	unsigned int level = thread_pid->level;
	struct tty_struct *tty = task->signal->tty;
	const struct cred *cred = task->cred;
	struct nsproxy *nsproxy = task->nsproxy;
	struct upid upid = {};

	event->info.parent_pid = parent->tgid;
	event->info.parent_start_boot_ns = parent->group_leader->start_boottime;
	event->info.uid = cred->uid.val;
	event->info.euid = cred->euid.val;
	event->info.gid = cred->gid.val;
	event->info.egid = cred->egid.val;
	event->info.loginuid = task->loginuid.val;
	event->info.sessionid = task->sessionid;
	event->info.mnt_ns = nsproxy->mnt_ns->ns.inum;
	event->info.net_ns = nsproxy->net_ns->ns.inum;
	/* a variable index: the one place a probe read is needed */
	bpf_core_read(&upid, sizeof(upid), &thread_pid->numbers[level & 31]);
	event->info.ns_pid = upid.nr;
	event->info.pid_ns = BPF_CORE_READ(upid.ns, ns.inum);
	event->info.cgroup_id = task->cgroups->dfl_cgrp->kn->id;
	bpf_probe_read_kernel_str(event->info.comm, sizeof(event->info.comm),
				  task->comm);
	if (tty) {
		event->info.flags |= EXEC_FLAG_HAS_TTY;
		bpf_probe_read_kernel_str(event->info.tty, sizeof(event->info.tty),
					  tty->name);
	}
}

static __always_inline __u64 write_cgroup_name(struct task_struct *task,
						struct exec_event *event,
						__u64 offset)
{
	const char *name = task->cgroups->dfl_cgrp->kn->name;
	long length;

	event->info.cgroup_name_len = 0;
	if (!name)
		return offset;
	length = bpf_probe_read_kernel_str(&event->data[offset & STRINGS_MASK],
					   EXEC_CGROUP_NAME_MAX, name);
	if (length <= 0)
		return offset;
	event->info.cgroup_name_len = length;
	return (offset + length) & STRINGS_MASK;
}

static __always_inline void reset_event(struct exec_event *event)
{
	/* Only the fixed part: the data area is covered by the lengths. */
	__builtin_memset(event, 0, offsetof(struct exec_event, data));
}

/*
 * The paths and strings part of an exec_event, shared by exec and scan.
 * Returns the offset where argv goes.
 */
static __always_inline __u64 write_exec_strings(struct task_struct *task,
						 struct exec_event *event,
						 const char *filename,
						 const char *interp,
						 struct file *exe)
{
	__u64 offset = 0, before;

	offset = write_string(event, offset, filename, &event->info.filename_len);
	offset = write_string(event, offset, interp, &event->info.interp_len);
	before = offset;
	if (exe) {
		read_exe_facts(exe, event);
		offset = write_path(event, offset, &exe->f_path,
				    EXEC_FLAG_EXE_PATH_TRUNCATED);
	}
	event->info.exe_path_len = offset - before;
	before = offset;
	offset = write_path(event, offset, &task->fs->pwd,
			    EXEC_FLAG_CWD_PATH_TRUNCATED);
	event->info.cwd_path_len = offset - before;
	return write_cgroup_name(task, event, offset);
}

static __always_inline __u64 args_length(struct exec_event *event,
					  __u64 arg_start, __u64 arg_end,
					  __u32 capture_max)
{
	__u64 total = arg_end > arg_start ? arg_end - arg_start : 0;
	__u64 length;

	event->info.args_total = total > 0xffffffffULL ? 0xffffffffU : total;
	length = total < capture_max ? total : capture_max;
	if (length > EXEC_ARGS_MAX)
		length = EXEC_ARGS_MAX;
	if (length < total)
		event->info.flags |= EXEC_FLAG_ARGS_TRUNCATED;
	return length;
}

/* State of a page-by-page argv copy, for bpf_loop. */
struct args_copy {
	struct exec_event *event;
	__u64 offset;
	__u64 source;
	__u64 length;
	__u64 done;
	bool failed;
};

static long args_copy_step(__u64 index, void *context)
{
	struct args_copy *copy = context;
	__u64 done = index * ARGS_CHUNK;
	__u64 position = (copy->offset + done) & ARGS_MASK;
	char *target = &copy->event->data[position];
	void *source = (void *)(copy->source + done);
	long failed;

	if (done >= copy->length)
		return 1;
	if (copy->length - done >= ARGS_CHUNK) {
		failed = bpf_probe_read_user(target, ARGS_CHUNK, source);
	} else {
		__u64 rest = copy->length - done;

		barrier_var(rest);
		rest &= ARGS_CHUNK - 1;
		failed = bpf_probe_read_user(target, rest, source);
	}
	if (failed) {
		copy->failed = true;
		return 1;
	}
	copy->done = copy->length - done >= ARGS_CHUNK ? done + ARGS_CHUNK
						       : copy->length;
	return 0;
}

/* argv of the current task, in one read; page by page if that faults. */
static __always_inline __u64 read_current_args(struct exec_event *event,
						__u64 offset, __u64 arg_start,
						__u64 length)
{
	struct args_copy copy = {
		.event = event,
		.offset = offset & STRINGS_MASK,
		.source = arg_start,
		.length = length,
	};

	barrier_var(length);
	if (length > EXEC_ARGS_MAX)
		return 0;
	if (bpf_probe_read_user(&event->data[offset & STRINGS_MASK], length,
				(void *)arg_start) == 0)
		return length;
	bpf_loop(EXEC_ARGS_MAX / ARGS_CHUNK, args_copy_step, &copy, 0);
	if (copy.failed) {
		event->info.flags |= EXEC_FLAG_ARGS_READ_FAILED;
		count(COUNTER_ARGS_READ_FAILED);
	}
	return copy.done;
}

static __always_inline void submit(struct exec_event *event, __u64 offset,
				   __u64 flags, __u32 lost_counter)
{
	__u64 size = offsetof(struct exec_event, data) + (__u64)offset;

	if (size > sizeof(*event))
		size = sizeof(*event);
	event->header.size = size;
	if (bpf_ringbuf_output(&events, event, size, flags) != 0)
		count(lost_counter);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sched_process_exec, struct task_struct *task, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	__u32 key = bpf_get_smp_processor_id();
	struct exec_event *event;
	struct mm_struct *mm;
	__u64 arg_start, offset;

	count(COUNTER_EXEC_SEEN);
	event = bpf_map_lookup_elem(&scratch, &key);
	if (!event) {
		count(COUNTER_SCRATCH_MISSING);
		count(COUNTER_EXEC_LOST);
		return 0;
	}
	reset_event(event);
	fill_header(&event->header, EVENT_EXEC, task);
	event->info.old_tid = old_pid;
	read_task_facts(task, event);
	offset = write_exec_strings(task, event, bprm->filename, bprm->interp,
				    bprm->file);
	/* bprm->mm is cleared once the new mm is installed: use the task's */
	mm = task->mm;
	arg_start = mm->arg_start;
	event->info.args_len = read_current_args(
		event, offset, arg_start,
		args_length(event, arg_start, mm->arg_end, args_capture_max));
	submit(event, offset + event->info.args_len, exec_wakeup_flag(event, bprm),
	       COUNTER_EXEC_LOST);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent,
	     struct task_struct *child)
{
	struct fork_event event = {};

	/* Threads share the process: only new thread groups matter. */
	if (child->pid != child->tgid)
		return 0;
	count(COUNTER_FORK_SEEN);
	fill_header(&event.header, EVENT_FORK, child);
	event.header.size = sizeof(event);
	event.parent_pid = parent->tgid;
	event.parent_start_boot_ns = parent->group_leader->start_boottime;
	if (bpf_ringbuf_output(&events, &event, sizeof(event), wakeup_flag()) != 0)
		count(COUNTER_FORK_LOST);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *task)
{
	struct exit_event event = {};

	/* Only when the last thread of the group is gone. */
	if (task->signal->live.counter != 0)
		return 0;
	count(COUNTER_EXIT_SEEN);
	fill_header(&event.header, EVENT_EXIT, task);
	event.header.size = sizeof(event);
	event.exit_code = task->exit_code;
	if (bpf_ringbuf_output(&events, &event, sizeof(event), wakeup_flag()) != 0)
		count(COUNTER_EXIT_LOST);
	return 0;
}

SEC("iter.s/task")
int scan_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	__u32 key = 0;
	struct exec_event *event;
	struct mm_struct *mm;
	__u64 arg_start, offset, length;

	if (!task || task->pid != task->tgid)
		return 0;
	event = bpf_map_lookup_elem(&scan_scratch, &key);
	if (!event) {
		count(COUNTER_SCAN_LOST);
		return 0;
	}
	reset_event(event);
	fill_header(&event->header, EVENT_SCAN, task);
	event->info.old_tid = event->header.tid;
	read_task_facts(task, event);
	mm = task->mm;
	if (!mm) {
		event->info.flags |= EXEC_FLAG_KERNEL_THREAD;
		offset = write_exec_strings(task, event, NULL, NULL, NULL);
		submit(event, offset, wakeup_flag(), COUNTER_SCAN_LOST);
		return 0;
	}
	offset = write_exec_strings(task, event, NULL, NULL, mm->exe_file);
	arg_start = mm->arg_start;
	length = args_length(event, arg_start, mm->arg_end, scan_args_capture_max);
	barrier_var(length);
	if (length <= EXEC_ARGS_MAX &&
	    bpf_copy_from_user_task(&event->data[offset & STRINGS_MASK], length,
				    (void *)arg_start, task, 0) == 0)
		event->info.args_len = length;
	else
		event->info.flags |= EXEC_FLAG_ARGS_READ_FAILED;
	submit(event, offset + event->info.args_len, wakeup_flag(), COUNTER_SCAN_LOST);
	return 0;
}
