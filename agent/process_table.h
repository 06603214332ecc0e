/*
 * process_table.h - the processes the agent knows, and what each runs.
 *
 * A process is identified by (pid, start time): pids are reused, start times
 * (ns since boot) make the pair unique for a boot.  An image is what a
 * process runs after an exec: path, command line, credentials, file version.
 * Images are reference-counted and shared: a forked child runs its parent's
 * image until it execs.
 *
 * Lineage is kept as a snapshot, not as pointers to other processes: at fork
 * the child records its creator (pid, start, image) and the creator's own
 * parent (pid, start, image).  So when the child execs, the initiating
 * process of the new record is known even if the creator has exited and been
 * forgotten.  An exec in a process that already exec'd since its fork (exec
 * without fork: shells' `exec`, Wine's loader chain) has that same process's
 * previous image as its initiating process.
 *
 * The table is bounded: exited processes are dropped after a grace period,
 * and when it is full the oldest exited, then the least recently active
 * processes are evicted (counted).
 */
#ifndef RMMHUNT_AGENT_PROCESS_TABLE_H
#define RMMHUNT_AGENT_PROCESS_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/list.h"
#include "file_cache.h"
#include "wine/wine.h"

struct image {
	int references;
	char *path; /* FolderPath: full path of what runs */
	char *command_line; /* ProcessCommandLine, escaped text */
	struct file_info *file; /* NULL for kernel threads and unknown files */
	uint32_t uid, euid, gid, egid;
	uint32_t session_id; /* audit session, 4294967295 = unset */
	uint64_t exec_boot_ns;
	/* a Windows program under Wine (wine.h): path and command_line are
	 * then the Windows ones, file is the .exe; NULL for Linux programs */
	struct wine_program *wine;
	/* the file that ran is Wine's loader: a Windows program's process,
	 * known at once (wine is found later, by the Wine worker) */
	bool wine_loader;
	/* the table's memory for lineage (process_table_keep_image()): the
	 * bytes counted, and the command line's length before the table cut
	 * it (0: whole) */
	size_t counted_bytes;
	size_t command_line_length;
};

struct process_ref {
	bool known; /* pid and start_boot_ns are real */
	uint32_t pid;
	uint64_t start_boot_ns;
	struct image *image; /* NULL: unknown */
};

struct process {
	struct process_ref self; /* self.image: what it runs now */
	struct process_ref creator; /* who forked it */
	struct process_ref creator_parent; /* the creator's own creator */
	bool exec_since_fork;
	bool scanned; /* known from the start-up scan, not from a fork */
	uint32_t exec_count;
	bool exited;
	uint64_t exit_boot_ns;
	uint64_t last_active_boot_ns;
	/* table bookkeeping: on the live list (by last activity) or the
	 * exited list (by exit time), oldest first */
	struct list_node order;
};

struct process_table_stats {
	uint64_t forks, execs, exits, evicted_live, evicted_exited,
		missing_on_exec, replaced;
	uint64_t command_lines_cut; /* kept shorter: lineage memory was full */
	uint32_t processes, exited_waiting;
	size_t text_bytes; /* paths and command lines kept for lineage */
};

struct process_table;

int process_table_create(struct process_table **out, struct file_cache *files,
			 uint32_t max_processes, uint64_t exit_grace_ns);
void process_table_destroy(struct process_table *table);

/* The live entry for pid if its start time matches, else NULL. */
struct process *process_table_find(struct process_table *table, uint32_t pid,
				   uint64_t start_boot_ns);

/*
 * A new process: forked by (parent_pid, parent_start).  Replaces a stale
 * entry for the same pid.  Returns the entry or NULL (out of memory).
 */
struct process *process_table_fork(struct process_table *table, uint32_t pid,
				   uint64_t start_boot_ns, uint32_t parent_pid,
				   uint64_t parent_start_boot_ns, uint64_t now_ns);

/* The entry for (pid, start), created from the parent's facts if unknown. */
struct process *process_table_get_or_add(struct process_table *table,
					 uint32_t pid, uint64_t start_boot_ns,
					 uint32_t parent_pid,
					 uint64_t parent_start_boot_ns,
					 uint64_t now_ns, bool *created);

/* Fill a missing creator snapshot from the table (scan order is random). */
void process_table_resolve_creator(struct process_table *table,
				   struct process *process);

void process_table_exit(struct process_table *table, uint32_t pid,
			uint64_t start_boot_ns, uint64_t now_ns);

/*
 * Lineage memory is bounded: the paths and command lines of the images the
 * table keeps count against max_text_bytes (see process_table_create()).
 * An image whose row was written is counted here; past the bound its
 * command line is kept only in part (IMAGE_KEPT_COMMAND_LINE bytes, its
 * length before in command_line_length): the records of its children say
 * InitiatingProcessCommandLine was cut.  Counted: command_lines_cut.
 */
#define IMAGE_KEPT_COMMAND_LINE ((size_t)1024)

/* The most of a command line an image holds: what a record can show of it
 * (ProcessCommandLine's cap, docs/records.md "Sizes"). */
#define IMAGE_COMMAND_LINE_MAX ((size_t)96 * 1024)

/* Give image the command line text (a heap string it takes), cut at
 * IMAGE_COMMAND_LINE_MAX (the length before in command_line_length).
 * -ENOMEM (text is freed all the same). */
int image_take_command_line(struct image *image, char *text);
void process_table_keep_image(struct process_table *table, struct image *image);
void process_table_set_text_bound(struct process_table *table, size_t max_text_bytes);

/* Drop exited processes whose grace period is over. */
void process_table_sweep(struct process_table *table, uint64_t now_ns);

/* Call visit(process, context) for every known process. */
void process_table_for_each(struct process_table *table,
			    void (*visit)(struct process *process, void *context),
			    void *context);

void process_table_read_stats(const struct process_table *table,
			      struct process_table_stats *stats);
void process_table_count_exec(struct process_table *table);

/* Images */
struct image *image_create(void);
struct image *image_acquire(struct image *image);
void image_release(struct process_table *table, struct image *image);
/* FileName: the last component of the path (DOS paths for Windows images). */
const char *image_file_name(const struct image *image);
/* Copy a reference (image reference counted). */
void process_ref_copy(struct process_ref *to, const struct process_ref *from);
void process_ref_clear(struct process_table *table, struct process_ref *ref);
/* A snapshot taken before its process was known: its image, if the
 * process is known now. */
void process_ref_fill(struct process_table *table, struct process_ref *ref);
/* Replace a process's image (takes the caller's reference). */
void process_set_image(struct process_table *table, struct process *process,
		       struct image *image);

#endif
