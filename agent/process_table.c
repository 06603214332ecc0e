/*
 * process_table.c - processes by pid, with lineage snapshots.
 *
 * Two intrusive lists order the entries: `live` by last activity (fork,
 * exec) and `exited` by exit time.  Both serve eviction; `exited` also
 * serves the grace-period sweep.  An exited entry stays findable for the
 * grace period because events about it (a child's exec carrying it as the
 * parent) can arrive after its exit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/hashmap.h"
#include "process_table.h"
#include "base/text.h"

struct process_table {
	struct file_cache *files;
	struct hashmap by_pid;
	struct list live, exited; /* of struct process, oldest first */
	uint32_t max_processes;
	uint64_t exit_grace_ns;
	size_t max_text_bytes; /* 0: no bound */
	struct process_table_stats stats;
};

static uint64_t pid_hash_key(const void *key)
{
	return hashmap_mix64(*(const uint32_t *)key);
}

static uint64_t pid_hash_entry(const void *entry)
{
	return hashmap_mix64(((const struct process *)entry)->self.pid);
}

static bool pid_entry_has_key(const void *entry, const void *key)
{
	return ((const struct process *)entry)->self.pid == *(const uint32_t *)key;
}

static const struct hashmap_type pid_map_type = {
	.hash_key = pid_hash_key,
	.hash_entry = pid_hash_entry,
	.entry_has_key = pid_entry_has_key,
};

static struct list *list_of(struct process_table *table,
			    const struct process *process)
{
	return process->exited ? &table->exited : &table->live;
}

struct image *image_create(void)
{
	struct image *image = calloc(1, sizeof(*image));

	if (image) {
		image->references = 1;
		image->session_id = UINT32_MAX;
	}
	return image;
}

struct image *image_acquire(struct image *image)
{
	if (image)
		image->references++;
	return image;
}

void image_release(struct process_table *table, struct image *image)
{
	if (!image || --image->references > 0)
		return;
	table->stats.text_bytes -= image->counted_bytes;
	file_info_release(table->files, image->file);
	free(image->path);
	free(image->command_line);
	wine_program_free(image->wine);
	free(image);
}

const char *image_file_name(const struct image *image)
{
	return image->wine ? wine_file_name(image->path) : text_basename(image->path);
}

void process_ref_copy(struct process_ref *to, const struct process_ref *from)
{
	to->known = from->known;
	to->pid = from->pid;
	to->start_boot_ns = from->start_boot_ns;
	to->image = image_acquire(from->image);
}

void process_ref_clear(struct process_table *table, struct process_ref *ref)
{
	image_release(table, ref->image);
	memset(ref, 0, sizeof(*ref));
}

void process_ref_fill(struct process_table *table, struct process_ref *ref)
{
	struct process *process;

	if (ref->image || !ref->known)
		return;
	process = process_table_find(table, ref->pid, ref->start_boot_ns);
	if (process)
		ref->image = image_acquire(process->self.image);
}

void process_set_image(struct process_table *table, struct process *process,
		       struct image *image)
{
	image_release(table, process->self.image);
	process->self.image = image;
}

int process_table_create(struct process_table **out, struct file_cache *files,
			 uint32_t max_processes, uint64_t exit_grace_ns)
{
	struct process_table *table = calloc(1, sizeof(*table));

	if (!table)
		return -ENOMEM;
	table->files = files;
	table->max_processes = max_processes;
	table->exit_grace_ns = exit_grace_ns;
	hashmap_init(&table->by_pid, &pid_map_type);
	*out = table;
	return 0;
}

static void process_free(struct process_table *table, struct process *process)
{
	process_ref_clear(table, &process->self);
	process_ref_clear(table, &process->creator);
	process_ref_clear(table, &process->creator_parent);
	free(process);
}

static void remove_process(struct process_table *table, struct process *process)
{
	list_remove(list_of(table, process), &process->order);
	hashmap_remove(&table->by_pid, &process->self.pid);
	process_free(table, process);
}

void process_table_destroy(struct process_table *table)
{
	if (!table)
		return;
	while (!list_is_empty(&table->live))
		remove_process(table, list_first(&table->live));
	while (!list_is_empty(&table->exited))
		remove_process(table, list_first(&table->exited));
	hashmap_free(&table->by_pid);
	free(table);
}

struct process *process_table_find(struct process_table *table, uint32_t pid,
				   uint64_t start_boot_ns)
{
	struct process *process = hashmap_get(&table->by_pid, &pid);

	if (process && process->self.start_boot_ns == start_boot_ns)
		return process;
	return NULL;
}

static void touch(struct process_table *table, struct process *process,
		  uint64_t now_ns)
{
	process->last_active_boot_ns = now_ns;
	if (process->exited)
		return;
	list_move_to_end(&table->live, &process->order);
}

static void make_room(struct process_table *table)
{
	while (table->by_pid.count >= table->max_processes) {
		if (!list_is_empty(&table->exited)) {
			table->stats.evicted_exited++;
			remove_process(table, list_first(&table->exited));
		} else if (!list_is_empty(&table->live)) {
			table->stats.evicted_live++;
			remove_process(table, list_first(&table->live));
		} else {
			return;
		}
	}
}

/* Snapshot of `creator` as the creator of a new child. */
static void record_creator(struct process *child, const struct process *creator)
{
	process_ref_copy(&child->creator, &creator->self);
	process_ref_copy(&child->creator_parent, &creator->creator);
}

static struct process *add_process(struct process_table *table, uint32_t pid,
				   uint64_t start_boot_ns, uint32_t parent_pid,
				   uint64_t parent_start_boot_ns, uint64_t now_ns)
{
	struct process *stale = hashmap_get(&table->by_pid, &pid);
	struct process *process;

	if (stale) {
		table->stats.replaced++;
		remove_process(table, stale);
	}
	make_room(table);
	process = calloc(1, sizeof(*process));
	if (!process)
		return NULL;
	process->self.known = true;
	process->self.pid = pid;
	process->self.start_boot_ns = start_boot_ns;
	process->creator.known = true;
	process->creator.pid = parent_pid;
	process->creator.start_boot_ns = parent_start_boot_ns;
	process->last_active_boot_ns = now_ns;
	if (hashmap_insert(&table->by_pid, process) != 0) {
		free(process);
		return NULL;
	}
	list_append(&table->live, &process->order, process);
	return process;
}

void process_table_resolve_creator(struct process_table *table,
				   struct process *process)
{
	struct process *creator;

	if (process->creator.image)
		return;
	creator = process_table_find(table, process->creator.pid,
				     process->creator.start_boot_ns);
	if (!creator)
		return;
	process_ref_clear(table, &process->creator_parent);
	record_creator(process, creator);
}

struct process *process_table_fork(struct process_table *table, uint32_t pid,
				   uint64_t start_boot_ns, uint32_t parent_pid,
				   uint64_t parent_start_boot_ns, uint64_t now_ns)
{
	struct process *parent, *child;

	table->stats.forks++;
	child = add_process(table, pid, start_boot_ns, parent_pid,
			    parent_start_boot_ns, now_ns);
	if (!child)
		return NULL;
	parent = process_table_find(table, parent_pid, parent_start_boot_ns);
	if (parent) {
		record_creator(child, parent);
		child->self.image = image_acquire(parent->self.image);
		touch(table, parent, now_ns);
	}
	return child;
}

struct process *process_table_get_or_add(struct process_table *table,
					 uint32_t pid, uint64_t start_boot_ns,
					 uint32_t parent_pid,
					 uint64_t parent_start_boot_ns,
					 uint64_t now_ns, bool *created)
{
	struct process *process = process_table_find(table, pid, start_boot_ns);

	*created = false;
	if (process) {
		touch(table, process, now_ns);
		return process;
	}
	process = add_process(table, pid, start_boot_ns, parent_pid,
			      parent_start_boot_ns, now_ns);
	if (!process)
		return NULL;
	*created = true;
	process_table_resolve_creator(table, process);
	return process;
}

void process_table_exit(struct process_table *table, uint32_t pid,
			uint64_t start_boot_ns, uint64_t now_ns)
{
	struct process *process = process_table_find(table, pid, start_boot_ns);

	table->stats.exits++;
	if (!process || process->exited)
		return;
	list_remove(&table->live, &process->order);
	process->exited = true;
	process->exit_boot_ns = now_ns;
	list_append(&table->exited, &process->order, process);
}

void process_table_sweep(struct process_table *table, uint64_t now_ns)
{
	struct process *oldest;

	while ((oldest = list_first(&table->exited)) &&
	       oldest->exit_boot_ns + table->exit_grace_ns <= now_ns)
		remove_process(table, oldest);
}

void process_table_count_exec(struct process_table *table)
{
	table->stats.execs++;
}

void process_table_set_text_bound(struct process_table *table, size_t max_text_bytes)
{
	table->max_text_bytes = max_text_bytes;
}

static size_t image_text_bytes(const struct image *image)
{
	return (image->path ? strlen(image->path) : 0) +
	       (image->command_line ? strlen(image->command_line) : 0);
}

/* Keep at most max bytes of the command line (a smaller allocation). */
static int cut_command_line(struct image *image, size_t max)
{
	size_t length = strlen(image->command_line);
	char *kept;

	if (length <= max)
		return 0;
	kept = strndup(image->command_line, text_cut_length(image->command_line, length, max));
	if (!kept)
		return -ENOMEM;
	free(image->command_line);
	image->command_line = kept;
	if (!image->command_line_length)
		image->command_line_length = length;
	return 0;
}

int image_take_command_line(struct image *image, char *text)
{
	free(image->command_line);
	image->command_line = text;
	image->command_line_length = 0;
	if (!text)
		return -ENOMEM;
	return cut_command_line(image, IMAGE_COMMAND_LINE_MAX);
}

void process_table_keep_image(struct process_table *table, struct image *image)
{
	size_t bytes = image_text_bytes(image);

	if (table->max_text_bytes && table->stats.text_bytes + bytes > table->max_text_bytes &&
	    image->command_line && strlen(image->command_line) > IMAGE_KEPT_COMMAND_LINE &&
	    cut_command_line(image, IMAGE_KEPT_COMMAND_LINE) == 0) {
		table->stats.command_lines_cut++;
		bytes = image_text_bytes(image);
	}
	table->stats.text_bytes += bytes - image->counted_bytes;
	image->counted_bytes = bytes;
}

void process_table_read_stats(const struct process_table *table,
			      struct process_table_stats *stats)
{
	*stats = table->stats;
	stats->processes = (uint32_t)table->by_pid.count;
	stats->exited_waiting = (uint32_t)list_count(&table->exited);
}

void process_table_for_each(struct process_table *table,
			    void (*visit)(struct process *process, void *context),
			    void *context)
{
	void *entry;

	for (size_t position = 0; hashmap_next(&table->by_pid, &position, &entry);)
		visit(entry, context);
}
