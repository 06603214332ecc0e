/*
 * assembler.c - process table upkeep and exec rows.
 *
 * Runs on the agent's main thread only.  An exec record is handled in three
 * steps: (1) lineage: find or create the process and take snapshots of its
 * initiating process and that one's parent; (2) the new image: path, command
 * line, credentials, and the file version, whose hash is requested at once,
 * from an fd opened while the process most likely still lives; (3) when no
 * hash is pending any more (pending_exec.h), the row is built and written
 * to the sinks.  An exec of Wine's loader chain becomes the Windows program
 * it starts, one row per start: wine/wine_rows.h does that part.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "assembler.h"
#include "pending_exec.h"
#include "record_builder.h"
#include "record_fragments.h"
#include "base/strbuf.h"
#include "base/text.h"
#include "wine/wine_rows.h"

struct assembler {
	struct assembler_context context;
	struct record_sink sinks[ASSEMBLER_MAX_SINKS];
	int sink_count;
	struct record record; /* reused for every row */
	struct record_fragments *fragments; /* what rows repeat, serialised once */
	struct pending_list pending; /* execs waiting for hashes (or held) */
	struct wine_rows wine; /* Windows programs: one row per start */
	struct assembler_stats stats;
};

/* --- finished rows ------------------------------------------------------- */

/* The pending list's finish function: the row, with its ReportId, to every
 * sink. */
static void write_row(void *context, struct pending_exec *pending)
{
	struct assembler *assembler = context;
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
	record_fragments_apply(assembler->fragments, &assembler->record, pending);
	assembler->stats.records++;
	for (int i = 0; i < assembler->sink_count; i++)
		assembler->sinks[i].write(assembler->sinks[i].context,
					  &assembler->record);
	/* what the process table keeps of it from now on is bounded */
	if (pending->process.image)
		process_table_keep_image(assembler->context.processes, pending->process.image);
}

int assembler_create(struct assembler **out,
		     const struct assembler_context *context)
{
	struct assembler *assembler = calloc(1, sizeof(*assembler));

	if (!assembler)
		return -ENOMEM;
	assembler->context = *context;
	record_init(&assembler->record);
	pending_list_init(&assembler->pending, context->processes, write_row, assembler);
	if (record_fragments_create(&assembler->fragments) != 0 ||
	    wine_rows_init(&assembler->wine, context->processes, context->files, "/") != 0) {
		record_fragments_destroy(assembler->fragments);
		record_free(&assembler->record);
		free(assembler);
		return -ENOMEM;
	}
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

int assembler_add_wine_loader(struct assembler *assembler, const char *path)
{
	return wine_rows_add_loader(&assembler->wine, path);
}

int assembler_start_workers(struct assembler *assembler)
{
	return wine_rows_start_worker(&assembler->wine);
}

void assembler_set_bounds(struct assembler *assembler, uint64_t hash_wait_ns,
			  uint32_t max_pending)
{
	pending_list_set_bounds(&assembler->pending, hash_wait_ns, max_pending);
}

void assembler_read_stats(struct assembler *assembler, struct assembler_stats *stats)
{
	struct wine_rows_stats wine;

	*stats = assembler->stats;
	stats->pending = (uint32_t)list_count(&assembler->pending.execs);
	stats->hash_wait_timeouts = assembler->pending.hash_timeouts;
	stats->pending_overflow = assembler->pending.overflow;
	wine_rows_read_stats(&assembler->wine, &wine);
	stats->wine_programs = wine.programs;
	stats->wine_confirmed = wine.confirmed;
	stats->wine_not_wine_loaders = wine.not_wine_loaders;
	stats->wine_jobs_refused = wine.jobs_refused;
	record_fragments_read_stats(assembler->fragments, &stats->fragments);
	stats->wine_budget_exceeded = wine.budget_exceeded;
	stats->wine_queued = wine.queued;
	stats->wine_steps_folded = wine.steps_folded;
	stats->wine_adopted = wine.adopted;
	stats->wine_errors = wine.errors;
	stats->wine_held_overflow = wine.held_overflow;
	stats->wine_held = wine.held;
}

void assembler_destroy(struct assembler *assembler)
{
	if (!assembler)
		return;
	/* Rows still waiting are written now, their hash status "pending". */
	wine_rows_take_results(&assembler->wine);
	wine_rows_release_all(&assembler->wine);
	pending_list_finish_all(&assembler->pending);
	wine_rows_destroy(&assembler->wine);
	record_free(&assembler->record);
	record_fragments_destroy(assembler->fragments);
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

/* The image's file is opened and hashed by the file cache's workers: the
 * main thread never opens a file a user named (file_cache.h). */
static void request_hash(struct assembler *assembler, struct image *image,
			 uint32_t pid, bool path_usable)
{
	struct file_origin origin = {.pid = pid, .path = image ? image->path : NULL,
				     .path_usable = path_usable, .fd = -1};

	if (!image || !image->file || image->file->hash_status != HASH_STATUS_NONE)
		return;
	file_cache_request_hash(assembler->context.files, image->file, &origin);
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
	image_take_command_line(image, command_line_of(facts->argv, facts->argv_length));
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

bool assembler_idle(const struct assembler *assembler)
{
	return list_is_empty(&assembler->pending.execs);
}

void assembler_poll(struct assembler *assembler, uint64_t now_ns)
{
	pending_list_expire(&assembler->pending, now_ns);
	wine_rows_poll(&assembler->wine, now_ns);
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
	wine_rows_exit(&assembler->wine, event->header.pid, event->header.start_boot_ns);
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
	request_hash(assembler, image, facts->header.pid, path_is_usable(&facts->info));
	wine_rows_resolve_running(&assembler->wine, facts, image);
	process_set_image(table, process, image);
	process->scanned = true;
	process->exec_since_fork = true;
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
		process_ref_fill(table, &pending->initiating_parent);
		return;
	}
	process_table_resolve_creator(table, process);
	process_ref_copy(&pending->initiating, &process->creator);
	process_ref_copy(&pending->initiating_parent, &process->creator_parent);
	process_ref_fill(table, &pending->initiating_parent);
}

/* A file version hashed before needs no prompt look at its next execs. */
static void tell_file_known(struct assembler *assembler, const struct image *image,
			    const struct exec_info *info)
{
	struct file_info *file = image->file;

	if (!assembler->context.file_known || !file || file->known_to_probe ||
	    file->hash_status != HASH_STATUS_OK)
		return;
	/* a loader's exec starts a Windows program: that has to be seen now */
	if (wine_loaders_contain(&assembler->wine.loaders, file->key.device, file->key.inode))
		return;
	file->known_to_probe = true;
	assembler->context.file_known(assembler->context.file_known_context, info);
}

static void handle_exec(struct assembler *assembler, struct pending_exec *pending)
{
	struct process_table *table = assembler->context.processes;
	const struct exec_facts *facts = &pending->facts;
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
		pending_exec_free(pending);
		return;
	}
	if (created)
		assembler->stats.exec_without_known_process++;
	wine_step = wine_rows_is_step(&assembler->wine, facts, &step);
	/* a later step of a Wine chain takes the lineage of the row it folds */
	if (!wine_rows_continue(&assembler->wine, pending, wine_step ? &step : NULL)) {
		take_lineage(assembler, process, pending);
		if (wine_step)
			wine_rows_take_lineage(&assembler->wine, process, pending);
	}
	image = image_from_facts(assembler, facts);
	if (!image) {
		assembler->stats.record_errors++;
		pending_exec_free(pending);
		return;
	}
	/* the file that ran is hashed, whatever it runs (a Windows program's
	 * row keeps the loader's hashes too) */
	request_hash(assembler, image, facts->header.pid, path_is_usable(&facts->info));
	if (wine_step)
		wine_rows_resolve_step(&assembler->wine, process, pending, &step, image);
	else
		tell_file_known(assembler, image, &facts->info);
	process_set_image(table, process, image);
	process->exec_since_fork = true;
	process->exec_count++;
	pending->exec_sequence = process->exec_count;
	process_ref_copy(&pending->process, &process->self);
	/* the command line is in the image: argv (up to 64 KiB) need not wait */
	free(pending->facts.argv);
	pending->facts.argv = NULL;
	pending->facts.argv_length = 0;
	pending_exec_add(pending); /* held by us until every wait is registered */
	pending_exec_wait_for_hash(pending, PENDING_SLOT_IMAGE);
	pending_exec_wait_for_hash(pending, PENDING_SLOT_INITIATING);
	if (wine_step) /* a step's row waits for the next step, or its maps */
		wine_rows_hold(&assembler->wine, pending);
	pending_exec_done(pending);
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
	/* what the Wine worker found comes first, in the events' order */
	wine_rows_take_results(&assembler->wine);
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
		pending = pending_exec_create(&assembler->pending);
		if (!pending || exec_facts_decode(&pending->facts, data, size) != 0) {
			free(pending);
			break;
		}
		if (header->type == EVENT_SCAN) {
			handle_scan(assembler, &pending->facts);
			pending_exec_free(pending);
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
