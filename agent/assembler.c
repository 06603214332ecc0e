/*
 * assembler.c - process table upkeep and exec rows.
 *
 * Runs on the agent's main thread only.  An exec record is handled in three
 * steps: (1) lineage: find or create the process and take snapshots of its
 * initiating process and that one's parent; (2) the new image: path, command
 * line, credentials, and the file version, whose hash is requested at once,
 * from an fd opened while the process most likely still lives; (3) when no
 * hash is pending any more, the row is built and written to the sinks.
 * An exec of Wine's loader chain (wine.h) becomes the Windows program it
 * starts, and its row is held: a later step of the chain in the same pid
 * takes its place, so one start gives one row (docs/records.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "assembler.h"
#include "pending_exec.h"
#include "record_builder.h"
#include "base/strbuf.h"
#include "base/text.h"

struct assembler {
	struct assembler_context context;
	struct record_sink sinks[ASSEMBLER_MAX_SINKS];
	int sink_count;
	struct record record; /* reused for every row */
	struct list pending; /* of struct pending_exec, oldest first */
	struct list held; /* Wine rows held (a subset of pending), oldest first */
	struct assembler_stats stats;
};

/* How long a Wine row waits for the next step of its chain, and for its
 * program to show in /proc/PID/maps; how often maps is read meanwhile
 * (10 ms, then twice as long each time, at most 320 ms); how many rows may
 * wait at once (past that, the oldest is written: a flood of execs named
 * like Wine's costs neither unbounded memory nor unbounded reads). */
#define WINE_HOLD_STEP_NS (10 * 1000000000ULL)
#define WINE_HOLD_FINAL_NS (5 * 1000000000ULL)
#define WINE_MAPS_FIRST_INTERVAL_NS (10 * 1000000ULL)
#define WINE_MAPS_LAST_INTERVAL_NS (320 * 1000000ULL)
#define WINE_MAPS_MAX ((size_t)4 * 1024 * 1024)
#define WINE_HELD_MAX 128

int assembler_create(struct assembler **out,
		     const struct assembler_context *context)
{
	struct assembler *assembler = calloc(1, sizeof(*assembler));

	if (!assembler)
		return -ENOMEM;
	assembler->context = *context;
	record_init(&assembler->record);
	*out = assembler;
	return 0;
}

int assembler_add_sink(struct assembler *assembler, struct record_sink sink)
{
	if (assembler->sink_count == ASSEMBLER_MAX_SINKS)
		return -ENOSPC;
	assembler->sinks[assembler->sink_count++] = sink;
	return 0;
}

void assembler_read_stats(const struct assembler *assembler,
			  struct assembler_stats *stats)
{
	*stats = assembler->stats;
	stats->pending = (uint32_t)list_count(&assembler->pending);
	stats->wine_held = (uint32_t)list_count(&assembler->held);
}

/* --- pending execs ---------------------------------------------------- */

static void pending_link(struct assembler *assembler, struct pending_exec *pending)
{
	list_append(&assembler->pending, &pending->pending_node, pending);
}

static void pending_unlink(struct assembler *assembler, struct pending_exec *pending)
{
	list_remove(&assembler->pending, &pending->pending_node);
}

static void pending_free(struct assembler *assembler, struct pending_exec *pending)
{
	struct process_table *table = assembler->context.processes;

	exec_facts_free(&pending->facts);
	for (uint32_t i = 0; i < WINE_CHAIN_MAX; i++)
		free(pending->wine.chain[i]);
	free(pending->wine.mapped_path);
	free(pending->wine.prefix);
	process_ref_clear(table, &pending->process);
	process_ref_clear(table, &pending->initiating);
	process_ref_clear(table, &pending->initiating_parent);
	free(pending);
}

static void write_row(struct assembler *assembler, struct pending_exec *pending)
{
	int64_t report_id = report_ids_next(assembler->context.report_ids);

	if (report_id < 0) {
		/* never reuse an id: a row without a safe id is not written */
		assembler->stats.report_id_errors++;
		return;
	}
	if (record_builder_build(&assembler->record, pending, &assembler->context,
				 report_id) != 0) {
		assembler->stats.record_errors++;
		return;
	}
	assembler->stats.records++;
	for (int i = 0; i < assembler->sink_count; i++)
		assembler->sinks[i].write(assembler->sinks[i].context,
					  &assembler->record);
}

static void pending_hash_done(void *context)
{
	struct pending_exec *pending = context;
	struct assembler *assembler = pending->assembler;

	if (--pending->waiting > 0)
		return;
	pending_unlink(assembler, pending);
	write_row(assembler, pending);
	pending_free(assembler, pending);
}

static void wait_for_hash(struct pending_exec *pending, struct image *image,
			  int slot)
{
	struct file_info *file = image ? image->file : NULL;

	if (!file || file->hash_status != HASH_STATUS_PENDING)
		return;
	pending->waiters[slot].notify = pending_hash_done;
	pending->waiters[slot].context = pending;
	file_info_wait(file, &pending->waiters[slot]);
	pending->waiting++;
}

void assembler_destroy(struct assembler *assembler)
{
	if (!assembler)
		return;
	/* Rows still waiting are written now, their hash status "pending". */
	while (!list_is_empty(&assembler->pending)) {
		struct pending_exec *pending = list_first(&assembler->pending);
		struct image *images[2] = {pending->process.image,
					   pending->initiating.image};

		for (int slot = 0; slot < 2; slot++) {
			if (images[slot] && images[slot]->file)
				file_info_unwait(images[slot]->file,
						 &pending->waiters[slot]);
		}
		pending_unlink(assembler, pending);
		write_row(assembler, pending);
		pending_free(assembler, pending);
	}
	record_free(&assembler->record);
	free(assembler);
}

/* --- images and hashes -------------------------------------------------- */

static void file_key_from_facts(struct file_key *key, const struct exec_info *info)
{
	key->device = makedev(info->exe_dev_major, info->exe_dev_minor);
	key->inode = info->exe_ino;
	key->ctime_sec = info->exe_ctime_sec;
	key->ctime_nsec = info->exe_ctime_nsec;
	key->size = info->exe_size;
	key->mtime_sec = info->exe_mtime_sec;
	key->mtime_nsec = info->exe_mtime_nsec;
}

/*
 * An fd on the file version `key`: /proc/PID/exe first (works for memfd and
 * deleted files while the process lives; checked as a running image, see
 * file_cache.h), then the path, checked exactly.  -1 with *open_errno =
 * ESTALE when only another version was found.
 */
static int open_exe(uint32_t pid, const char *path, bool path_usable,
		    const struct file_key *key, enum file_check *check,
		    int *open_errno)
{
	char proc_path[64];
	bool found_other = false;
	int fd;

	*open_errno = ENOENT;
	snprintf(proc_path, sizeof(proc_path), "/proc/%u/exe", pid);
	fd = open(proc_path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		*check = FILE_CHECK_RUNNING_IMAGE;
		if (file_key_matches_fd(key, fd, *check))
			return fd;
		close(fd);
		found_other = true;
	} else if (errno != ENOENT && errno != ESRCH) {
		*open_errno = errno;
	}
	if (path_usable && path[0] == '/') {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		*check = FILE_CHECK_EXACT;
		if (fd >= 0 && file_key_matches_fd(key, fd, *check))
			return fd;
		if (fd >= 0) {
			close(fd);
			found_other = true;
		} else if (errno != ENOENT && !found_other) {
			*open_errno = errno;
		}
	}
	if (found_other)
		*open_errno = ESTALE;
	return -1;
}

static void request_hash(struct assembler *assembler, struct image *image,
			 uint32_t pid, bool path_usable)
{
	enum file_check check = FILE_CHECK_EXACT;
	int fd, open_errno;

	if (!image || !image->file || image->file->hash_status != HASH_STATUS_NONE)
		return;
	fd = open_exe(pid, image->path, path_usable, &image->file->key, &check,
		      &open_errno);
	file_cache_request_hash(assembler->context.files, image->file, fd, check,
				open_errno, image->path);
}

/* The whole argv of a live process, when the probe had to cut it. */
static char *read_proc_cmdline(uint32_t pid, size_t *length)
{
	char path[64];
	struct strbuf all;

	snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
	strbuf_init(&all);
	if (strbuf_read_file(&all, path, SIZE_MAX) != 0 || all.length == 0) {
		strbuf_free(&all);
		return NULL;
	}
	*length = all.length;
	return all.data;
}

static char *command_line_of(const char *argv, size_t length)
{
	struct strbuf line;

	strbuf_init(&line);
	text_command_line(&line, argv, length);
	if (line.failed) {
		strbuf_free(&line);
		return NULL;
	}
	if (!line.data)
		return strdup("");
	return line.data;
}

static struct image *image_from_facts(struct assembler *assembler,
				      const struct exec_facts *facts)
{
	struct image *image = image_create();
	struct file_key key;

	if (!image)
		return NULL;
	image->path = strdup(facts->exe_path);
	image->command_line = command_line_of(facts->argv, facts->argv_length);
	image->uid = facts->info.uid;
	image->euid = facts->info.euid;
	image->gid = facts->info.gid;
	image->egid = facts->info.egid;
	image->session_id = facts->info.sessionid;
	image->exec_boot_ns = facts->header.time_boot_ns;
	if (!(facts->info.flags & EXEC_FLAG_KERNEL_THREAD)) {
		file_key_from_facts(&key, &facts->info);
		image->file = file_cache_get(assembler->context.files, &key);
	}
	if (!image->path || !image->command_line) {
		image_release(assembler->context.processes, image);
		return NULL;
	}
	return image;
}

static bool path_is_usable(const struct exec_info *info)
{
	return !(info->flags & (EXEC_FLAG_EXE_DELETED | EXEC_FLAG_EXE_INTERNAL_MOUNT |
				EXEC_FLAG_EXE_PATH_TRUNCATED |
				EXEC_FLAG_EXE_PATH_DETACHED));
}

/* --- Windows programs under Wine ------------------------------------------ */

static void fill_image(struct process_table *table, struct process_ref *ref);

static struct pending_exec *find_held(struct assembler *assembler, uint32_t pid,
				      uint64_t start_boot_ns)
{
	for (struct pending_exec *held = list_first(&assembler->held); held;
	     held = list_next(&held->wine.held_node)) {
		if (held->process.pid == pid && held->process.start_boot_ns == start_boot_ns)
			return held;
	}
	return NULL;
}

static void release(struct assembler *assembler, struct pending_exec *pending);

static void hold(struct assembler *assembler, struct pending_exec *pending)
{
	struct wine_row *row = &pending->wine;

	if (list_count(&assembler->held) >= WINE_HELD_MAX) {
		release(assembler, list_first(&assembler->held));
		assembler->stats.wine_held_overflow++;
	}
	row->hold_deadline_ns = pending->facts.header.time_boot_ns +
				(row->final_step ? WINE_HOLD_FINAL_NS : WINE_HOLD_STEP_NS);
	row->maps_interval_ns = WINE_MAPS_FIRST_INTERVAL_NS;
	list_append(&assembler->held, &row->held_node, pending);
	pending->waiting++;
}

static void unhold(struct assembler *assembler, struct pending_exec *pending)
{
	list_remove(&assembler->held, &pending->wine.held_node);
}

/* The row may be written (once no hash is pending). */
static void release(struct assembler *assembler, struct pending_exec *pending)
{
	unhold(assembler, pending);
	pending_hash_done(pending);
}

/* Take back a waiter registered by wait_for_hash() and still waiting. */
static void stop_waiting(struct pending_exec *pending, struct image *image, int slot)
{
	if (image && image->file && image->file->hash_status == HASH_STATUS_PENDING) {
		file_info_unwait(image->file, &pending->waiters[slot]);
		pending->waiting--;
	}
}

/*
 * A later step of the chain replaces a held row: the new row stands for the
 * same program start, so it takes the held row's initiating process, its
 * place in the process's exec sequence and its list of steps.
 */
static void fold_into(struct assembler *assembler, struct pending_exec *held,
		      struct pending_exec *pending)
{
	process_ref_copy(&pending->initiating, &held->initiating);
	process_ref_copy(&pending->initiating_parent, &held->initiating_parent);
	pending->initiating_is_previous_image = held->initiating_is_previous_image;
	pending->wine.first_sequence = held->wine.first_sequence;
	pending->wine.child = held->wine.child;
	pending->wine.binfmt = held->wine.binfmt;
	pending->wine.prefix = held->wine.prefix;
	held->wine.prefix = NULL;
	pending->wine.intermediate_pid = held->wine.intermediate_pid;
	memcpy(pending->wine.chain, held->wine.chain, sizeof(held->wine.chain));
	memset(held->wine.chain, 0, sizeof(held->wine.chain));
	pending->wine.chain_length = held->wine.chain_length;
	unhold(assembler, held);
	stop_waiting(held, held->process.image, 0);
	stop_waiting(held, held->initiating.image, 1);
	pending_unlink(assembler, held);
	pending_free(assembler, held);
	assembler->stats.wine_steps_folded++;
}

/*
 * The initiating process of a program a Windows program started.  Wine
 * forks twice and the middle process exits at once: the creator is that
 * middle process (a fork that never exec'd, so it shares its own creator's
 * image), and the Windows parent is the creator's creator.
 */
static void take_wine_lineage(struct assembler *assembler, struct process *process,
			      struct pending_exec *pending)
{
	struct process_table *table = assembler->context.processes;
	const struct process_ref *creator = &process->creator;
	struct process *middle, *parent;

	if (pending->initiating_is_previous_image || !creator->image ||
	    !creator->image->wine)
		return;
	pending->wine.child = true;
	if (creator->image != process->creator_parent.image || !process->creator_parent.known)
		return;
	pending->wine.intermediate_pid = creator->pid;
	process_ref_clear(table, &pending->initiating);
	process_ref_clear(table, &pending->initiating_parent);
	process_ref_copy(&pending->initiating, &process->creator_parent);
	middle = process_table_find(table, creator->pid, creator->start_boot_ns);
	parent = process_table_find(table, process->creator_parent.pid,
				    process->creator_parent.start_boot_ns);
	if (middle)
		process_ref_copy(&pending->initiating_parent, &middle->creator_parent);
	else if (parent)
		process_ref_copy(&pending->initiating_parent, &parent->creator);
	fill_image(table, &pending->initiating_parent);
}

/* Make image the Windows program's: its paths, command line and .exe. */
static int set_windows_image(struct assembler *assembler, struct image *image,
			     struct wine_program *program, int fd)
{
	struct file_cache *files = assembler->context.files;
	char *path = strdup(program->folder_path);
	char *command_line = strdup(program->command_line);
	struct file_key key;
	struct stat status;

	if (!path || !command_line) {
		free(path);
		free(command_line);
		if (fd >= 0)
			close(fd);
		wine_program_free(program);
		return -ENOMEM;
	}
	free(image->path);
	free(image->command_line);
	file_info_release(files, image->file);
	wine_program_free(image->wine);
	image->path = path;
	image->command_line = command_line;
	image->file = NULL;
	image->wine = program;
	if (fd >= 0 && fstat(fd, &status) == 0) {
		file_key_from_stat(&key, &status);
		image->file = file_cache_get(files, &key);
	}
	if (image->file)
		file_cache_request_hash(files, image->file, fd, FILE_CHECK_EXACT, 0,
					program->linux_path);
	else if (fd >= 0)
		close(fd);
	assembler->stats.wine_programs++;
	return 0;
}

static void chain_append(struct wine_row *row, const char *loader)
{
	if (row->chain_length < WINE_CHAIN_MAX)
		row->chain[row->chain_length] = strdup(loader);
	row->chain_length++;
}

/* A step of the chain: which program it starts, and the image for it. */
static void resolve_wine_step(struct assembler *assembler, struct process *process,
			      struct pending_exec *pending, const struct wine_step *step,
			      struct image *image)
{
	const struct image *parent = process->creator.image;
	struct wine_context context = {
		.pid = pending->facts.header.pid,
		.uid = pending->facts.info.uid,
		.cwd = pending->facts.cwd,
		.known_prefix = pending->wine.prefix ? pending->wine.prefix
			      : pending->wine.child && parent && parent->wine
				      ? parent->wine->prefix
				      : NULL,
		.child = pending->wine.child,
	};
	struct wine_program *program;
	bool final_step;
	int fd, open_errno;

	pending->wine.step = true;
	chain_append(&pending->wine, step->loader);
	if (wine_resolve(step, &context, &program, &fd, &open_errno, &final_step) != 0) {
		assembler->stats.wine_errors++;
		pending->wine.final_step = true;
		return;
	}
	pending->wine.final_step = final_step;
	if (!program)
		return;
	pending->wine.binfmt = pending->wine.binfmt || program->binfmt;
	if (!pending->wine.prefix && program->prefix[0])
		pending->wine.prefix = strdup(program->prefix);
	if (set_windows_image(assembler, image, program, fd) != 0)
		assembler->stats.wine_errors++;
}

/* A new image with from's credentials and times (its file and program are
 * set by the caller). */
/*
 * A Windows program found running by the start-up scan: resolved from the
 * argv Wine rewrote, as a Windows parent's child would be (its command line
 * keeps its first word, a bare name is looked for in system32), so that
 * what it starts shows it as their initiating process.
 */
static void resolve_running_wine(struct assembler *assembler,
				 const struct exec_facts *facts, struct image *image)
{
	struct wine_context context = {.pid = facts->header.pid, .uid = facts->info.uid,
				       .cwd = facts->cwd, .child = true};
	struct wine_program *program;
	struct wine_step step;
	bool final_step;
	int fd, open_errno;

	if (!wine_classify_running(facts->exe_path, facts->argv, facts->argv_length, &step) ||
	    !step.program)
		return;
	if (wine_resolve(&step, &context, &program, &fd, &open_errno, &final_step) != 0 ||
	    (program && set_windows_image(assembler, image, program, fd) != 0))
		assembler->stats.wine_errors++;
}

static struct image *image_clone(const struct image *from)
{
	struct image *image = image_create();

	if (!image)
		return NULL;
	*image = *from;
	image->references = 1;
	image->file = NULL;
	image->wine = NULL;
	image->path = strdup(from->path);
	image->command_line = strdup(from->command_line);
	return image;
}

/*
 * Maps show another .exe than the one argv named (a parent's
 * CreateProcess with another application name, a name only start.exe or
 * the loader could find): that is what runs, so the row describes it.
 */
static void adopt_mapped(struct assembler *assembler, struct pending_exec *pending,
			 const struct wine_maps_result *mapped)
{
	struct process_table *table = assembler->context.processes;
	struct image *old = pending->process.image, *image;
	struct wine_program *program;
	struct process *process;
	int fd;

	if (wine_program_from_mapped(old->wine, mapped, &program, &fd) != 0)
		return;
	image = image_clone(old);
	if (!image || !image->path || !image->command_line ||
	    set_windows_image(assembler, image, program, fd) != 0) {
		image_release(table, image);
		assembler->stats.wine_errors++;
		return;
	}
	stop_waiting(pending, old, 0);
	process = process_table_find(table, pending->process.pid,
				     pending->process.start_boot_ns);
	if (process && process->self.image == old)
		process_set_image(table, process, image_acquire(image));
	image_release(table, old);
	pending->process.image = image;
	wait_for_hash(pending, image, 0);
	assembler->stats.wine_adopted++;
}

/* Is the held row's program mapped yet?  Released when it is. */
static void check_maps(struct assembler *assembler, struct pending_exec *pending)
{
	const struct image *image = pending->process.image;
	struct wine_maps_query query = {.name = wine_file_name(image->path)};
	struct wine_maps_result result;
	size_t length;
	char *maps = wine_read_proc(pending->process.pid, "maps", WINE_MAPS_MAX, &length);

	if (!maps) {
		pending->wine.mapped = WINE_MAPPED_EXITED;
		release(assembler, pending);
		return;
	}
	if (image->file) {
		query.device = image->file->key.device;
		query.inode = image->file->key.inode;
	}
	if (wine_maps_find(maps, length, &query, &result) != 0 ||
	    result.found == WINE_MAPPED_NOT_YET) {
		free(maps);
		wine_maps_result_free(&result);
		return;
	}
	free(maps);
	pending->wine.mapped = result.found;
	if (result.found == WINE_MAPPED_OTHER ||
	    (result.found == WINE_MAPPED_BUILTIN && !image->file))
		adopt_mapped(assembler, pending, &result);
	pending->wine.mapped_path = result.path;
	result.path = NULL;
	release(assembler, pending);
}

void assembler_poll(struct assembler *assembler, uint64_t now_ns)
{
	struct pending_exec *pending = list_first(&assembler->held), *next;

	for (; pending; pending = next) {
		struct wine_row *row = &pending->wine;

		next = list_next(&row->held_node);
		if (now_ns >= row->hold_deadline_ns) {
			if (row->final_step && row->mapped == WINE_MAPPED_UNCHECKED)
				row->mapped = WINE_MAPPED_NOT_YET;
			release(assembler, pending);
		} else if (row->final_step && pending->process.image->wine &&
			   now_ns >= row->next_maps_check_ns) {
			row->next_maps_check_ns = now_ns + row->maps_interval_ns;
			if (row->maps_interval_ns < WINE_MAPS_LAST_INTERVAL_NS)
				row->maps_interval_ns *= 2;
			check_maps(assembler, pending);
		}
	}
}

/* --- the events ---------------------------------------------------------- */

static void handle_fork(struct assembler *assembler, const struct fork_event *event)
{
	process_table_fork(assembler->context.processes, event->header.pid,
			   event->header.start_boot_ns, event->parent_pid,
			   event->parent_start_boot_ns, event->header.time_boot_ns);
}

static void handle_exit(struct assembler *assembler, const struct exit_event *event)
{
	struct pending_exec *held = find_held(assembler, event->header.pid,
					      event->header.start_boot_ns);

	if (held) {
		if (held->wine.final_step && held->wine.mapped == WINE_MAPPED_UNCHECKED &&
		    held->process.image->wine)
			held->wine.mapped = WINE_MAPPED_EXITED;
		release(assembler, held);
	}
	process_table_exit(assembler->context.processes, event->header.pid,
			   event->header.start_boot_ns, event->header.time_boot_ns);
}

static void handle_scan(struct assembler *assembler, struct exec_facts *facts)
{
	struct process_table *table = assembler->context.processes;
	struct process *process;
	struct image *image;
	bool created;

	process = process_table_get_or_add(table, facts->header.pid,
					   facts->header.start_boot_ns,
					   facts->info.parent_pid,
					   facts->info.parent_start_boot_ns,
					   facts->header.time_boot_ns, &created);
	/* A live exec event already told us more than the scan can. */
	if (!process || (!created && process->exec_since_fork))
		return;
	if (facts->info.flags & EXEC_FLAG_ARGS_TRUNCATED) {
		size_t length;
		char *whole = read_proc_cmdline(facts->header.pid, &length);

		if (whole) {
			free(facts->argv);
			facts->argv = whole;
			facts->argv_length = length;
		}
	}
	image = image_from_facts(assembler, facts);
	if (!image)
		return;
	resolve_running_wine(assembler, facts, image);
	process_set_image(table, process, image);
	process->scanned = true;
	process->exec_since_fork = true;
	if (!image->wine)
		request_hash(assembler, image, facts->header.pid,
			     path_is_usable(&facts->info));
}

/* A snapshot taken before its process was known: look it up now. */
static void fill_image(struct process_table *table, struct process_ref *ref)
{
	struct process *process;

	if (ref->image || !ref->known)
		return;
	process = process_table_find(table, ref->pid, ref->start_boot_ns);
	if (process)
		ref->image = image_acquire(process->self.image);
}

/* Who started this image: see process_table.h for the two cases. */
static void take_lineage(struct assembler *assembler, struct process *process,
			 struct pending_exec *pending)
{
	struct process_table *table = assembler->context.processes;

	if (process->exec_since_fork) {
		pending->initiating_is_previous_image = true;
		process_ref_copy(&pending->initiating, &process->self);
		process_ref_copy(&pending->initiating_parent, &process->creator);
		fill_image(table, &pending->initiating_parent);
		return;
	}
	process_table_resolve_creator(table, process);
	process_ref_copy(&pending->initiating, &process->creator);
	process_ref_copy(&pending->initiating_parent, &process->creator_parent);
	fill_image(table, &pending->initiating_parent);
}

static void handle_exec(struct assembler *assembler, struct pending_exec *pending)
{
	struct process_table *table = assembler->context.processes;
	const struct exec_facts *facts = &pending->facts;
	struct pending_exec *held;
	struct process *process;
	struct wine_step step;
	struct image *image;
	bool created, wine_step;

	process_table_count_exec(table);
	process = process_table_get_or_add(table, facts->header.pid,
					   facts->header.start_boot_ns,
					   facts->info.parent_pid,
					   facts->info.parent_start_boot_ns,
					   facts->header.time_boot_ns, &created);
	if (!process) {
		assembler->stats.record_errors++;
		pending_free(assembler, pending);
		return;
	}
	if (created)
		assembler->stats.exec_without_known_process++;
	wine_step = wine_classify(facts->exe_path, facts->filename, facts->interp,
				  facts->argv, facts->argv_length, &step);
	held = list_is_empty(&assembler->held)
		       ? NULL
		       : find_held(assembler, facts->header.pid, facts->header.start_boot_ns);
	if (held && wine_step) {
		fold_into(assembler, held, pending);
	} else {
		if (held) /* the chain ended: that row is what started */
			release(assembler, held);
		take_lineage(assembler, process, pending);
		if (wine_step)
			take_wine_lineage(assembler, process, pending);
	}
	image = image_from_facts(assembler, facts);
	if (!image) {
		assembler->stats.record_errors++;
		pending_free(assembler, pending);
		return;
	}
	if (wine_step)
		resolve_wine_step(assembler, process, pending, &step, image);
	process_set_image(table, process, image);
	process->exec_since_fork = true;
	process->exec_count++;
	pending->exec_sequence = process->exec_count;
	if (wine_step) { /* the chain is one start: numbered by its first step */
		if (!pending->wine.first_sequence)
			pending->wine.first_sequence = pending->exec_sequence;
		pending->exec_sequence = pending->wine.first_sequence;
	}
	process_ref_copy(&pending->process, &process->self);

	if (!image->wine)
		request_hash(assembler, image, facts->header.pid,
			     path_is_usable(&facts->info));
	pending_link(assembler, pending);
	pending->waiting = 1; /* held until both waits are registered */
	wait_for_hash(pending, pending->process.image, 0);
	wait_for_hash(pending, pending->initiating.image, 1);
	if (wine_step)
		hold(assembler, pending);
	pending_hash_done(pending);
}

void assembler_handle(struct assembler *assembler, const void *data, size_t size)
{
	const struct event_header *header = data;
	struct pending_exec *pending;

	if (size < sizeof(*header) || header->type >= EVENT_TYPE_COUNT ||
	    header->size > size) {
		assembler->stats.malformed++;
		return;
	}
	assembler->stats.events[header->type]++;
	switch (header->type) {
	case EVENT_FORK:
		if (size < sizeof(struct fork_event))
			break;
		handle_fork(assembler, data);
		return;
	case EVENT_EXIT:
		if (size < sizeof(struct exit_event))
			break;
		handle_exit(assembler, data);
		return;
	case EVENT_EXEC:
	case EVENT_SCAN:
		pending = calloc(1, sizeof(*pending));
		if (!pending || exec_facts_decode(&pending->facts, data, size) != 0) {
			free(pending);
			break;
		}
		pending->assembler = assembler;
		if (header->type == EVENT_SCAN) {
			handle_scan(assembler, &pending->facts);
			pending_free(assembler, pending);
		} else {
			handle_exec(assembler, pending);
		}
		return;
	default:
		break;
	}
	assembler->stats.malformed++;
}

static void resolve_creator(struct process *process, void *context)
{
	struct assembler *assembler = context;

	process_table_resolve_creator(assembler->context.processes, process);
}

void assembler_scan_done(struct assembler *assembler)
{
	/* The scan visits pids in order, not parents first: link them now. */
	process_table_for_each(assembler->context.processes, resolve_creator,
			       assembler);
}
