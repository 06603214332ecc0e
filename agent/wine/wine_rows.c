/*
 * wine_rows.c - one row per start of a Windows program under Wine (see
 * wine_rows.h; what each field of a row means: docs/records.md).
 *
 * A held row is a pending exec with one wait more (pending_exec.h): taking
 * it off the held list and calling pending_exec_done() releases it, and it
 * is written once its hashes are in.  Folding discards the held row and
 * carries what it knew over to the next step's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pending_exec.h"
#include "wine/wine_rows.h"

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

void wine_rows_init(struct wine_rows *rows, struct process_table *processes,
		    struct file_cache *files)
{
	*rows = (struct wine_rows){.processes = processes, .files = files};
}

void wine_row_free(struct wine_row *row)
{
	for (uint32_t i = 0; i < WINE_CHAIN_MAX; i++)
		free(row->chain[i]);
	free(row->mapped_path);
	free(row->prefix);
}

void wine_rows_read_stats(const struct wine_rows *rows, struct wine_rows_stats *stats)
{
	*stats = rows->stats;
	stats->held = (uint32_t)list_count(&rows->held);
}

bool wine_rows_is_step(const struct exec_facts *facts, struct wine_step *step)
{
	return wine_classify(facts->exe_path, facts->filename, facts->interp, facts->argv,
			     facts->argv_length, step);
}

/* --- holding ---------------------------------------------------------------- */

static struct pending_exec *find_held(const struct wine_rows *rows, uint32_t pid,
				      uint64_t start_boot_ns)
{
	for (struct pending_exec *held = list_first(&rows->held); held;
	     held = list_next(&held->wine.held_node)) {
		if (held->process.pid == pid && held->process.start_boot_ns == start_boot_ns)
			return held;
	}
	return NULL;
}

static void unhold(struct wine_rows *rows, struct pending_exec *pending)
{
	list_remove(&rows->held, &pending->wine.held_node);
}

/* The row may be written (once no hash is pending). */
static void release(struct wine_rows *rows, struct pending_exec *pending)
{
	unhold(rows, pending);
	pending_exec_done(pending);
}

void wine_rows_hold(struct wine_rows *rows, struct pending_exec *pending)
{
	struct wine_row *row = &pending->wine;

	/* the chain is one start: numbered by its first step */
	if (!row->first_sequence)
		row->first_sequence = pending->exec_sequence;
	pending->exec_sequence = row->first_sequence;
	if (list_count(&rows->held) >= WINE_HELD_MAX) {
		release(rows, list_first(&rows->held));
		rows->stats.held_overflow++;
	}
	row->hold_deadline_ns = pending->facts.header.time_boot_ns +
				(row->final_step ? WINE_HOLD_FINAL_NS : WINE_HOLD_STEP_NS);
	row->maps_interval_ns = WINE_MAPS_FIRST_INTERVAL_NS;
	list_append(&rows->held, &row->held_node, pending);
	pending->waiting++;
}

void wine_rows_release_all(struct wine_rows *rows)
{
	struct pending_exec *held;

	while ((held = list_first(&rows->held)))
		release(rows, held);
}

/*
 * A later step of the chain replaces a held row: the new row stands for the
 * same program start, so it takes the held row's initiating process, its
 * place in the process's exec sequence and its list of steps.
 */
static void fold_into(struct wine_rows *rows, struct pending_exec *held,
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
	unhold(rows, held);
	pending_exec_discard(held);
	rows->stats.steps_folded++;
}

bool wine_rows_continue(struct wine_rows *rows, struct pending_exec *pending,
			bool is_step)
{
	struct pending_exec *held;

	if (list_is_empty(&rows->held))
		return false;
	held = find_held(rows, pending->facts.header.pid, pending->facts.header.start_boot_ns);
	if (!held)
		return false;
	if (is_step) {
		fold_into(rows, held, pending);
		return true;
	}
	release(rows, held); /* the chain ended: that row is what started */
	return false;
}

void wine_rows_exit(struct wine_rows *rows, uint32_t pid, uint64_t start_boot_ns)
{
	struct pending_exec *held = find_held(rows, pid, start_boot_ns);

	if (!held)
		return;
	if (held->wine.final_step && held->wine.mapped == WINE_MAPPED_UNCHECKED &&
	    held->process.image->wine)
		held->wine.mapped = WINE_MAPPED_EXITED;
	release(rows, held);
}

/* --- lineage ---------------------------------------------------------------- */

/*
 * The initiating process of a program a Windows program started.  Wine
 * forks twice and the middle process exits at once: the creator is that
 * middle process (a fork that never exec'd, so it shares its own creator's
 * image), and the Windows parent is the creator's creator.
 */
void wine_rows_take_lineage(struct wine_rows *rows, const struct process *process,
			    struct pending_exec *pending)
{
	struct process_table *table = rows->processes;
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
	process_ref_fill(table, &pending->initiating_parent);
}

/* --- the Windows program ------------------------------------------------------ */

/* Make image the Windows program's: its paths, command line and .exe. */
static int set_windows_image(struct wine_rows *rows, struct image *image,
			     struct wine_program *program, int fd)
{
	struct file_cache *files = rows->files;
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
	if (image->file) {
		struct file_origin origin = {.path = program->linux_path, .fd = fd};

		file_cache_request_hash(files, image->file, &origin);
	} else if (fd >= 0) {
		close(fd);
	}
	rows->stats.programs++;
	return 0;
}

static void chain_append(struct wine_row *row, const char *loader)
{
	if (row->chain_length < WINE_CHAIN_MAX)
		row->chain[row->chain_length] = strdup(loader);
	row->chain_length++;
}

void wine_rows_resolve_step(struct wine_rows *rows, const struct process *process,
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
		rows->stats.errors++;
		pending->wine.final_step = true;
		return;
	}
	pending->wine.final_step = final_step;
	if (!program)
		return;
	pending->wine.binfmt = pending->wine.binfmt || program->binfmt;
	if (!pending->wine.prefix && program->prefix[0])
		pending->wine.prefix = strdup(program->prefix);
	if (set_windows_image(rows, image, program, fd) != 0)
		rows->stats.errors++;
}

/*
 * A Windows program found running by the start-up scan: resolved from the
 * argv Wine rewrote, as a Windows parent's child would be (its command line
 * keeps its first word, a bare name is looked for in system32), so that
 * what it starts shows it as their initiating process.
 */
void wine_rows_resolve_running(struct wine_rows *rows, const struct exec_facts *facts,
			       struct image *image)
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
	    (program && set_windows_image(rows, image, program, fd) != 0))
		rows->stats.errors++;
}

/* --- what /proc/PID/maps shows ---------------------------------------------------- */

/*
 * Maps show another .exe than the one argv named (a parent's
 * CreateProcess with another application name, a name only start.exe or
 * the loader could find): that is what runs, so the row describes it.
 */
static void adopt_mapped(struct wine_rows *rows, struct pending_exec *pending,
			 const struct wine_maps_result *mapped)
{
	struct process_table *table = rows->processes;
	struct image *old = pending->process.image, *image;
	struct wine_program *program;
	struct process *process;
	int fd;

	if (wine_program_from_mapped(old->wine, mapped, &program, &fd) != 0)
		return;
	image = image_clone(old);
	if (!image || !image->path || !image->command_line ||
	    set_windows_image(rows, image, program, fd) != 0) {
		image_release(table, image);
		rows->stats.errors++;
		return;
	}
	pending_exec_stop_waiting(pending, PENDING_SLOT_IMAGE);
	process = process_table_find(table, pending->process.pid,
				     pending->process.start_boot_ns);
	if (process && process->self.image == old)
		process_set_image(table, process, image_acquire(image));
	image_release(table, old);
	pending->process.image = image;
	pending_exec_wait_for_hash(pending, PENDING_SLOT_IMAGE);
	rows->stats.adopted++;
}

/* Is the held row's program mapped yet?  Released when it is. */
static void check_maps(struct wine_rows *rows, struct pending_exec *pending)
{
	const struct image *image = pending->process.image;
	struct wine_maps_query query = {.name = wine_file_name(image->path)};
	struct wine_maps_result result;
	size_t length;
	char *maps = wine_read_proc(pending->process.pid, "maps", WINE_MAPS_MAX, &length);

	if (!maps) {
		pending->wine.mapped = WINE_MAPPED_EXITED;
		release(rows, pending);
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
		adopt_mapped(rows, pending, &result);
	pending->wine.mapped_path = result.path;
	result.path = NULL;
	release(rows, pending);
}

void wine_rows_poll(struct wine_rows *rows, uint64_t now_ns)
{
	struct pending_exec *pending = list_first(&rows->held), *next;

	for (; pending; pending = next) {
		struct wine_row *row = &pending->wine;

		next = list_next(&row->held_node);
		if (now_ns >= row->hold_deadline_ns) {
			if (row->final_step && row->mapped == WINE_MAPPED_UNCHECKED)
				row->mapped = WINE_MAPPED_NOT_YET;
			release(rows, pending);
		} else if (row->final_step && pending->process.image->wine &&
			   now_ns >= row->next_maps_check_ns) {
			row->next_maps_check_ns = now_ns + row->maps_interval_ns;
			if (row->maps_interval_ns < WINE_MAPS_LAST_INTERVAL_NS)
				row->maps_interval_ns *= 2;
			check_maps(rows, pending);
		}
	}
}
