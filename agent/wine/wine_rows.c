/*
 * wine_rows.c - one row per start of a Windows program under Wine (see
 * wine_rows.h; what each field of a row means: docs/records.md).
 *
 * A held row is a pending exec with one wait more (pending_exec.h): taking
 * it off the held list and calling pending_exec_done() releases it, and it
 * is written once its hashes are in.  Folding discards the held row and
 * carries what it knew over to the next step's.
 *
 * What reads the file system (resolving the program, reading maps, opening
 * the .exe) is a job for the worker (wine_worker.h); a row has at most one
 * job under way (row->job, whose owner is the row's pending exec until the
 * row goes: then the job's result is dropped).  Results are applied here,
 * on the main thread, by wine_rows_take_results().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "pending_exec.h"
#include "wine/wine_rows.h"

/* How long a Wine row waits for the next step of its chain, and for its
 * program to show in /proc/PID/maps; how often maps is read meanwhile
 * (10 ms, then twice as long each time, at most 320 ms); how many rows may
 * wait at once (past that, the oldest is written: a flood of Wine starts
 * costs neither unbounded memory nor unbounded reads). */
#define WINE_HOLD_STEP_NS (10 * 1000000000ULL)
#define WINE_HOLD_FINAL_NS (5 * 1000000000ULL)
#define WINE_MAPS_FIRST_INTERVAL_NS (10 * 1000000ULL)
#define WINE_MAPS_LAST_INTERVAL_NS (320 * 1000000ULL)
#define WINE_HELD_MAX 128
/* How often the dpkg database is looked at for a Wine upgrade. */
#define WINE_LOADERS_CHECK_NS (10 * 1000000000ULL)

int wine_rows_init(struct wine_rows *rows, struct process_table *processes,
		   struct file_cache *files, const char *dpkg_root)
{
	*rows = (struct wine_rows){.processes = processes, .files = files};
	wine_loaders_init(&rows->loaders, dpkg_root);
	wine_loaders_refresh(&rows->loaders, true);
	return wine_worker_create(&rows->worker, 0);
}

void wine_rows_destroy(struct wine_rows *rows)
{
	wine_worker_destroy(rows->worker);
	rows->worker = NULL;
}

int wine_rows_add_loader(struct wine_rows *rows, const char *path)
{
	int result = wine_loaders_add_path(&rows->loaders, path);

	if (result == 0)
		wine_loaders_refresh(&rows->loaders, true);
	return result;
}

int wine_rows_start_worker(struct wine_rows *rows)
{
	return wine_worker_start(rows->worker);
}

void wine_row_free(struct wine_row *row)
{
	for (uint32_t i = 0; i < WINE_CHAIN_MAX; i++)
		free(row->chain[i]);
	free(row->mapped_path);
	free(row->prefix);
	if (row->job) /* its result has nowhere to go now */
		wine_job_cancel(row->job);
	file_info_release(NULL, row->exe_file);
	file_info_release(NULL, row->program_file);
}

void wine_rows_read_stats(struct wine_rows *rows, struct wine_rows_stats *stats)
{
	*stats = rows->stats;
	stats->held = (uint32_t)list_count(&rows->held);
	stats->queued = wine_worker_queued(rows->worker);
}

bool wine_rows_is_step(struct wine_rows *rows, const struct exec_facts *facts,
		       struct wine_step *step)
{
	const struct exec_info *info = &facts->info;

	if (!wine_classify(facts->exe_path, facts->filename, facts->interp, facts->argv,
			   facts->argv_length, step))
		return false;
	if (step->kind == WINE_STEP_SCRIPT)
		return true;
	/* a loader is what it is, not what it is called */
	if (wine_loaders_contain(&rows->loaders,
				 makedev(info->exe_dev_major, info->exe_dev_minor),
				 info->exe_ino))
		return true;
	rows->stats.not_wine_loaders++;
	return false;
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
	struct wine_row *row = &pending->wine;

	/* the worker had not found the program yet (busy, or the process
	 * exited first): the row says so */
	if (row->job && row->job->kind == WINE_JOB_STEP && !row->resolve_error)
		row->resolve_error = "unfinished";
	unhold(rows, pending);
	pending_exec_done(pending);
}

static void set_deadline(struct pending_exec *pending)
{
	struct wine_row *row = &pending->wine;

	row->hold_deadline_ns = pending->facts.header.time_boot_ns +
				(row->final_step ? WINE_HOLD_FINAL_NS : WINE_HOLD_STEP_NS);
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
	set_deadline(pending);
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
	pending->wine.binfmt_candidate = held->wine.binfmt_candidate;
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
			const struct wine_step *step)
{
	struct pending_exec *held;

	if (list_is_empty(&rows->held))
		return false;
	held = find_held(rows, pending->facts.header.pid, pending->facts.header.start_boot_ns);
	if (!held)
		return false;
	/* only a loader (checked to be Wine's) goes on with a chain: a script
	 * folding a script would let any script named wine drop a row */
	if (step && step->kind != WINE_STEP_SCRIPT) {
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
	if (held->wine.final_step && !held->wine.confirmed &&
	    (held->wine.mapped == WINE_MAPPED_UNCHECKED ||
	     held->wine.mapped == WINE_MAPPED_NOT_YET) &&
	    held->process.image->wine)
		held->wine.mapped = WINE_MAPPED_EXITED;
	/* Wine gave up on a path the worker is still resolving: the row says
	 * what the worker finds (budget-exceeded...), not "unfinished" */
	if (held->wine.job && held->wine.job->kind == WINE_JOB_STEP) {
		held->wine.exited = true;
		return;
	}
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
	    (!creator->image->wine && !creator->image->wine_loader))
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

/* The cache entry of the .exe a job opened, its hash asked for (the fd is
 * taken).  NULL when there is none. */
static struct file_info *program_file(struct wine_rows *rows, const struct wine_program *program,
				      int *fd)
{
	struct file_origin origin = {.path = program->linux_path, .fd = *fd};
	struct file_info *info = NULL;
	struct file_key key;

	if (program->has_file && *fd >= 0) {
		file_key_from_stat(&key, &program->file_status);
		info = file_cache_get(rows->files, &key);
	}
	if (info) {
		file_cache_request_hash(rows->files, info, &origin);
		*fd = -1;
	}
	return info;
}

/*
 * Make image the Windows program's (maps showed it runs): its paths,
 * command line and the .exe's file (a reference taken).  program (NULL:
 * the one image->wine is) replaces image->wine.  False when out of memory.
 */
static bool take_windows_identity(struct wine_rows *rows, struct image *image,
				  struct wine_program *program, struct file_info *file)
{
	const struct wine_program *windows = program ? program : image->wine;
	char *path = strdup(windows->folder_path);
	char *command_line = strdup(windows->command_line);

	if (!path || !command_line) {
		free(path);
		free(command_line);
		wine_program_free(program);
		return false;
	}
	free(image->path);
	file_info_release(rows->files, image->file);
	image->path = path;
	image_take_command_line(image, command_line);
	image->file = file ? file_info_acquire(file) : NULL;
	if (program) {
		wine_program_free(image->wine);
		image->wine = program;
	}
	rows->stats.confirmed++;
	return true;
}

static void chain_append(struct wine_row *row, const char *loader)
{
	if (row->chain_length < WINE_CHAIN_MAX)
		row->chain[row->chain_length] = strdup(loader);
	row->chain_length++;
}

static char *copy_of(const char *text)
{
	return text ? strdup(text) : NULL;
}

/* Submit a job for a row; false (counted, said in the row) when the
 * worker's queue is full. */
static bool submit(struct wine_rows *rows, struct wine_job *job, struct wine_row *row)
{
	if (!wine_worker_submit(rows->worker, job)) {
		rows->stats.jobs_refused++;
		if (row)
			row->resolve_error = "queue-full";
		wine_job_free(job);
		return false;
	}
	if (row)
		row->job = job;
	return true;
}

/* A job with copies of the exec's facts (they may be gone when it runs). */
static struct wine_job *facts_job(enum wine_job_kind kind, void *owner,
				  const struct exec_facts *facts)
{
	struct wine_job *job = wine_job_create(kind, owner);

	if (!job)
		return NULL;
	job->pid = facts->header.pid;
	job->uid = facts->info.uid;
	job->exe_path = copy_of(facts->exe_path);
	job->filename = copy_of(facts->filename);
	job->interp = copy_of(facts->interp);
	job->cwd = copy_of(facts->cwd);
	job->argv = malloc(facts->argv_length + 1);
	if (job->argv) {
		memcpy(job->argv, facts->argv, facts->argv_length);
		job->argv[facts->argv_length] = '\0';
		job->argv_length = facts->argv_length;
	}
	if (!job->exe_path || !job->filename || !job->interp || !job->cwd || !job->argv) {
		wine_job_free(job);
		return NULL;
	}
	return job;
}

void wine_rows_resolve_step(struct wine_rows *rows, const struct process *process,
			    struct pending_exec *pending, const struct wine_step *step,
			    struct image *image)
{
	const struct image *parent = process->creator.image;
	const char *known_prefix = pending->wine.prefix ? pending->wine.prefix
				 : pending->wine.child && parent && parent->wine
					 ? parent->wine->prefix
					 : NULL;
	struct wine_row *row = &pending->wine;
	struct wine_job *job;

	row->step = true;
	image->wine_loader = step->kind != WINE_STEP_SCRIPT;
	chain_append(row, step->loader);
	/* the file that ran: its hashes stay in the row (ExeSHA256...) */
	row->exe_file = image->file ? file_info_acquire(image->file) : NULL;
	row->final_step = step->kind == WINE_STEP_PRELOADER;
	row->binfmt_candidate = row->binfmt_candidate || step->program_is_filename;
	job = facts_job(WINE_JOB_STEP, pending, &pending->facts);
	if (job) {
		job->child = row->child;
		job->binfmt_candidate = row->binfmt_candidate;
		job->known_prefix = copy_of(known_prefix);
	}
	if (!job || (known_prefix && !job->known_prefix)) {
		wine_job_free(job);
		rows->stats.errors++;
		row->resolve_error = "out-of-memory";
		return;
	}
	submit(rows, job, row);
}

/* The step's program, found by the worker: a claim until maps confirms. */
static void apply_step(struct wine_rows *rows, struct pending_exec *pending,
		       struct wine_job *job)
{
	struct wine_row *row = &pending->wine;
	struct image *image = pending->process.image;
	struct wine_program *program = job->program;

	if (job->result != 0) {
		rows->stats.errors++;
		row->resolve_error = "out-of-memory";
		row->final_step = true;
		return;
	}
	row->final_step = job->final_step;
	set_deadline(pending);
	if (!program)
		return;
	job->program = NULL;
	row->binfmt = row->binfmt || program->binfmt;
	if (!row->prefix && program->prefix[0])
		row->prefix = strdup(program->prefix);
	if (program->budget_exceeded) {
		rows->stats.budget_exceeded++;
		row->resolve_error = "budget-exceeded";
	}
	row->program_file = program_file(rows, program, &job->fd);
	wine_program_free(image->wine);
	image->wine = program;
	rows->stats.programs++;
}

/*
 * A Windows program found by the start-up scan: resolved from the argv
 * Wine rewrote, as a Windows parent's child would be (its command line
 * keeps its first word, a bare name is looked for in system32), and
 * confirmed from its maps at once, so that what it starts shows it as
 * their initiating process.
 */
void wine_rows_resolve_running(struct wine_rows *rows, const struct exec_facts *facts,
			       struct image *image)
{
	struct wine_step step;
	struct wine_job *job;

	if (!wine_classify_running(facts->exe_path, facts->argv, facts->argv_length, &step) ||
	    !step.program ||
	    !wine_loaders_contain(&rows->loaders,
				  makedev(facts->info.exe_dev_major, facts->info.exe_dev_minor),
				  facts->info.exe_ino))
		return;
	image->wine_loader = true;
	job = facts_job(WINE_JOB_RUNNING, image_acquire(image), facts);
	if (!job) {
		image_release(rows->processes, image);
		rows->stats.errors++;
		return;
	}
	job->child = true;
	if (!submit(rows, job, NULL))
		image_release(rows->processes, image);
}

/* The scan's program: its identity once its maps show it. */
static void apply_running(struct wine_rows *rows, struct image *image, struct wine_job *job)
{
	bool adopted = job->program != NULL;
	struct wine_program *program = adopted ? job->program : job->base;
	struct file_info *file;

	if (job->result != 0 || !program) {
		rows->stats.errors += job->result != 0;
		return;
	}
	if (adopted)
		job->program = NULL;
	else
		job->base = NULL;
	rows->stats.programs++;
	rows->stats.adopted += adopted;
	file = program_file(rows, program, &job->fd);
	wine_program_free(image->wine);
	image->wine = program;
	if (job->mapped.found == WINE_MAPPED_IMAGE || adopted)
		take_windows_identity(rows, image, NULL, file);
	file_info_release(rows->files, file);
}

/* --- what /proc/PID/maps shows ---------------------------------------------------- */

/* Ask the worker which .exe the row's process maps. */
static void check_maps(struct wine_rows *rows, struct pending_exec *pending)
{
	const struct wine_program *program = pending->process.image->wine;
	struct wine_job *job = wine_job_create(WINE_JOB_MAPS, pending);

	if (job) {
		job->pid = pending->process.pid;
		job->query_name = strdup(wine_file_name(program->folder_path));
		job->base = wine_program_copy(program);
		if (pending->wine.program_file) {
			job->query.device = pending->wine.program_file->key.device;
			job->query.inode = pending->wine.program_file->key.inode;
		}
	}
	if (!job || !job->query_name || !job->base) {
		wine_job_free(job);
		rows->stats.errors++;
		return;
	}
	submit(rows, job, &pending->wine);
}

/*
 * Maps has shown what runs.  The .exe itself: the row takes the program's
 * identity.  A builtin (Wine runs its own file for a placeholder) or
 * another .exe (a parent's CreateProcess with another application name, a
 * name only Wine could find): the row takes the identity of the file that
 * was mapped, opened and checked by the worker; when it could not be
 * opened as that file, the row keeps the loader's.
 */
static void apply_maps(struct wine_rows *rows, struct pending_exec *pending,
		       struct wine_job *job)
{
	struct wine_row *row = &pending->wine;
	struct image *image = pending->process.image;
	struct file_info *file = NULL;
	bool confirmed = false;

	if (!job->maps_read) {
		row->mapped = WINE_MAPPED_EXITED;
		release(rows, pending);
		return;
	}
	if (job->result != 0 || job->mapped.found == WINE_MAPPED_NOT_YET) {
		rows->stats.errors += job->result != 0;
		return; /* asked again at the next interval */
	}
	row->mapped = job->mapped.found;
	row->mapped_path = job->mapped.path;
	job->mapped.path = NULL;
	pending_exec_stop_waiting(pending, PENDING_SLOT_IMAGE);
	if (job->mapped.found == WINE_MAPPED_IMAGE) {
		confirmed = take_windows_identity(rows, image, NULL, row->program_file);
	} else if (job->program) {
		file = program_file(rows, job->program, &job->fd);
		confirmed = take_windows_identity(rows, image, job->program, file);
		job->program = NULL;
		file_info_release(rows->files, file);
		rows->stats.adopted++;
	}
	row->confirmed = confirmed;
	pending_exec_wait_for_hash(pending, PENDING_SLOT_IMAGE);
	release(rows, pending);
}

static void apply(struct wine_rows *rows, struct wine_job *job)
{
	if (job->kind == WINE_JOB_RUNNING) {
		struct image *image = job->owner;

		apply_running(rows, image, job);
		image_release(rows->processes, image);
		return;
	}
	struct pending_exec *pending = job->owner;

	pending->wine.job = NULL;
	if (job->kind == WINE_JOB_STEP) {
		apply_step(rows, pending, job);
		if (pending->wine.exited)
			release(rows, pending);
	} else {
		apply_maps(rows, pending, job);
	}
}

void wine_rows_take_results(struct wine_rows *rows)
{
	struct wine_job *job = wine_worker_take_done(rows->worker);

	while (job) {
		struct wine_job *next = job->next;

		if (job->owner)
			apply(rows, job);
		wine_job_free(job);
		job = next;
	}
}

void wine_rows_poll(struct wine_rows *rows, uint64_t now_ns)
{
	struct pending_exec *pending, *next;

	wine_rows_take_results(rows);
	if (now_ns - rows->loaders_checked_ns > WINE_LOADERS_CHECK_NS) {
		rows->loaders_checked_ns = now_ns;
		wine_loaders_refresh(&rows->loaders, false);
	}
	for (pending = list_first(&rows->held); pending; pending = next) {
		struct wine_row *row = &pending->wine;

		next = list_next(&row->held_node);
		if (now_ns >= row->hold_deadline_ns) {
			if (row->final_step && row->mapped == WINE_MAPPED_UNCHECKED &&
			    pending->process.image->wine)
				row->mapped = WINE_MAPPED_NOT_YET;
			release(rows, pending);
		} else if (row->final_step && pending->process.image->wine && !row->job &&
			   now_ns >= row->next_maps_check_ns) {
			row->next_maps_check_ns = now_ns + row->maps_interval_ns;
			if (row->maps_interval_ns < WINE_MAPS_LAST_INTERVAL_NS)
				row->maps_interval_ns *= 2;
			check_maps(rows, pending);
		}
	}
	wine_rows_take_results(rows); /* jobs run inline without a worker */
}
