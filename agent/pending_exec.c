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

void pending_list_set_bounds(struct pending_list *list, uint64_t max_wait_ns,
			     uint32_t max_pending)
{
	list->max_wait_ns = max_wait_ns;
	list->max_pending = max_pending;
}

/* Stop waiting for the hashes still computed: the row says "timeout".
 * Returns true when the exec is finished (and freed). */
static bool give_up_hashes(struct pending_exec *pending)
{
	bool gave_up = false;

	for (int slot = 0; slot < PENDING_SLOT_COUNT; slot++) {
		if (!pending->waiting_on[slot])
			continue;
		pending_exec_stop_waiting(pending, (enum pending_slot)slot);
		pending->hash_timed_out[slot] = true;
		gave_up = true;
	}
	if (!gave_up)
		return false;
	pending->waiting++; /* ours, so done() below may finish it */
	return pending_exec_done_finished(pending);
}

void pending_exec_add(struct pending_exec *pending)
{
	struct pending_list *list = pending->list;

	if (list->max_pending && list_count(&list->execs) >= list->max_pending) {
		for (struct pending_exec *oldest = list_first(&list->execs); oldest;
		     oldest = list_next(&oldest->node)) {
			bool hashes = oldest->waiting_on[PENDING_SLOT_IMAGE] ||
				      oldest->waiting_on[PENDING_SLOT_INITIATING];

			if (hashes) {
				list->overflow++;
				give_up_hashes(oldest);
				break;
			}
		}
	}
	list_append(&list->execs, &pending->node, pending);
	pending->waiting = 1;
}

void pending_list_expire(struct pending_list *list, uint64_t now_ns)
{
	struct pending_exec *pending = list_first(&list->execs), *next;

	if (!list->max_wait_ns)
		return;
	/* oldest first: the first one not due ends the look (exec times come
	 * nearly in order; a later one is seen on a later turn) */
	for (; pending; pending = next) {
		next = list_next(&pending->node);
		if (pending->facts.header.time_boot_ns + list->max_wait_ns > now_ns)
			break;
		if (pending->waiting_on[PENDING_SLOT_IMAGE] ||
		    pending->waiting_on[PENDING_SLOT_INITIATING]) {
			list->hash_timeouts++;
			give_up_hashes(pending);
		}
	}
}

static struct file_info *slot_file(const struct pending_exec *pending,
				   enum pending_slot slot)
{
	const struct image *image = slot == PENDING_SLOT_IMAGE ? pending->process.image
							       : pending->initiating.image;

	return image ? image->file : NULL;
}

static void image_hash_done(void *context)
{
	struct pending_exec *pending = context;

	pending->waiting_on[PENDING_SLOT_IMAGE] = false;
	pending_exec_done(pending);
}

static void initiating_hash_done(void *context)
{
	struct pending_exec *pending = context;

	pending->waiting_on[PENDING_SLOT_INITIATING] = false;
	pending_exec_done(pending);
}

void pending_exec_wait_for_hash(struct pending_exec *pending, enum pending_slot slot)
{
	struct file_info *file = slot_file(pending, slot);

	if (!file || file->hash_status != HASH_STATUS_PENDING || pending->waiting_on[slot])
		return;
	pending->waiters[slot].notify = slot == PENDING_SLOT_IMAGE ? image_hash_done
								   : initiating_hash_done;
	pending->waiters[slot].context = pending;
	file_info_wait(file, &pending->waiters[slot]);
	pending->waiting_on[slot] = true;
	pending->waiting++;
}

void pending_exec_stop_waiting(struct pending_exec *pending, enum pending_slot slot)
{
	struct file_info *file = slot_file(pending, slot);

	if (!pending->waiting_on[slot])
		return;
	if (file)
		file_info_unwait(file, &pending->waiters[slot]);
	pending->waiting_on[slot] = false;
	pending->waiting--;
}

/* Off the list, into a row, freed. */
static void finish(struct pending_exec *pending)
{
	struct pending_list *list = pending->list;

	list_remove(&list->execs, &pending->node);
	list->finish(list->context, pending);
	pending_exec_free(pending);
}

bool pending_exec_done_finished(struct pending_exec *pending)
{
	if (--pending->waiting > 0)
		return false;
	finish(pending);
	return true;
}

void pending_exec_done(struct pending_exec *pending)
{
	pending_exec_done_finished(pending);
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

			if (file && pending->waiting_on[slot])
				file_info_unwait(file, &pending->waiters[slot]);
		}
		list->finish(list->context, pending);
		pending_exec_free(pending);
	}
}
