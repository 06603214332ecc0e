/*
 * pending_exec.c - execs waiting to become rows (see pending_exec.h).
 *
 * Runs on the agent's main thread only: the file cache notifies waiters
 * from file_cache_take_completions(), which the main loop calls.
 */
#include <stdlib.h>

#include "pending_exec.h"

void pending_list_init(struct pending_list *list, struct process_table *processes,
		       void (*finish)(void *context, struct pending_exec *pending),
		       void *context)
{
	*list = (struct pending_list){
		.processes = processes,
		.finish = finish,
		.context = context,
	};
}

struct pending_exec *pending_exec_create(struct pending_list *list)
{
	struct pending_exec *pending = calloc(1, sizeof(*pending));

	if (pending)
		pending->list = list;
	return pending;
}

void pending_exec_free(struct pending_exec *pending)
{
	struct process_table *table = pending->list->processes;

	exec_facts_free(&pending->facts);
	wine_row_free(&pending->wine);
	process_ref_clear(table, &pending->process);
	process_ref_clear(table, &pending->initiating);
	process_ref_clear(table, &pending->initiating_parent);
	free(pending);
}

void pending_exec_add(struct pending_exec *pending)
{
	list_append(&pending->list->execs, &pending->node, pending);
	pending->waiting = 1;
}

static struct file_info *slot_file(const struct pending_exec *pending,
				   enum pending_slot slot)
{
	const struct image *image = slot == PENDING_SLOT_IMAGE ? pending->process.image
							       : pending->initiating.image;

	return image ? image->file : NULL;
}

static void hash_done(void *context)
{
	pending_exec_done(context);
}

void pending_exec_wait_for_hash(struct pending_exec *pending, enum pending_slot slot)
{
	struct file_info *file = slot_file(pending, slot);

	if (!file || file->hash_status != HASH_STATUS_PENDING)
		return;
	pending->waiters[slot].notify = hash_done;
	pending->waiters[slot].context = pending;
	file_info_wait(file, &pending->waiters[slot]);
	pending->waiting++;
}

void pending_exec_stop_waiting(struct pending_exec *pending, enum pending_slot slot)
{
	struct file_info *file = slot_file(pending, slot);

	if (file && file->hash_status == HASH_STATUS_PENDING) {
		file_info_unwait(file, &pending->waiters[slot]);
		pending->waiting--;
	}
}

/* Off the list, into a row, freed. */
static void finish(struct pending_exec *pending)
{
	struct pending_list *list = pending->list;

	list_remove(&list->execs, &pending->node);
	list->finish(list->context, pending);
	pending_exec_free(pending);
}

void pending_exec_done(struct pending_exec *pending)
{
	if (--pending->waiting > 0)
		return;
	finish(pending);
}

void pending_exec_discard(struct pending_exec *pending)
{
	pending_exec_stop_waiting(pending, PENDING_SLOT_IMAGE);
	pending_exec_stop_waiting(pending, PENDING_SLOT_INITIATING);
	list_remove(&pending->list->execs, &pending->node);
	pending_exec_free(pending);
}

void pending_list_finish_all(struct pending_list *list)
{
	struct pending_exec *pending;

	while ((pending = list_take_first(&list->execs))) {
		for (int slot = 0; slot < PENDING_SLOT_COUNT; slot++) {
			struct file_info *file = slot_file(pending, (enum pending_slot)slot);

			if (file) /* a waiter not registered is not found: no harm */
				file_info_unwait(file, &pending->waiters[slot]);
		}
		list->finish(list->context, pending);
		pending_exec_free(pending);
	}
}
