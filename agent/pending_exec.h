/*
 * pending_exec.h - one exec on its way to becoming a row, and the execs
 * waiting.
 *
 * Made by assembler.c, turned into the 68 columns by record_builder.c.
 * Everything the row needs is held here by value or by reference, so a
 * pending exec does not depend on the process table keeping any entry.
 *
 * An exec becomes a row once nothing it waits for is left: the hashes of
 * its image and of its initiating process's image (file_cache.h, computed
 * by the hash workers), and for a Wine row the end of its hold
 * (wine/wine_rows.h).  `waiting` counts those waits; pending_exec_done()
 * takes one off and at zero hands the exec to its list's finish function
 * (which builds and writes the row), then frees it.
 *
 * Waiting is bounded, so no file can hold a row up for long (issue 9): an
 * exec waits for hashes at most max_wait_ns after it happened, and when
 * max_pending execs wait the oldest stops waiting; its row is written with
 * what is known, the hash said to be "timeout", and it is counted.
 */
#ifndef RMMHUNT_AGENT_PENDING_EXEC_H
#define RMMHUNT_AGENT_PENDING_EXEC_H

#include <stdbool.h>
#include <stdint.h>

#include "base/list.h"
#include "exec_facts.h"
#include "file_cache.h"
#include "process_table.h"
#include "wine/wine_rows.h"

struct pending_exec;

/* The execs waiting, and what becomes of them. */
struct pending_list {
	struct list execs; /* of struct pending_exec, oldest first */
	struct process_table *processes; /* the images they refer to */
	/* the exec is complete: make and write its row (it is freed after) */
	void (*finish)(void *context, struct pending_exec *pending);
	void *context;
	uint64_t max_wait_ns; /* for hashes, after the exec */
	uint32_t max_pending;
	uint64_t hash_timeouts; /* rows written without a hash: time was up */
	uint64_t overflow; /* rows that stopped waiting: too many waited */
};

/* What a pending exec waits on, by slot (its waiters[] index). */
enum pending_slot {
	PENDING_SLOT_IMAGE, /* process.image's hash */
	PENDING_SLOT_INITIATING, /* initiating.image's hash */
	PENDING_SLOT_COUNT,
};

struct pending_exec {
	struct pending_list *list;
	struct exec_facts facts;
	struct process_ref process; /* the new image: process.image */
	struct process_ref initiating; /* parent, or the previous image */
	struct process_ref initiating_parent;
	bool initiating_is_previous_image; /* exec without fork */
	uint32_t exec_sequence; /* 1 = first exec of this process */
	int waiting; /* waits left: hashes, a Wine hold, the caller's own */
	struct file_waiter waiters[PENDING_SLOT_COUNT];
	bool waiting_on[PENDING_SLOT_COUNT]; /* a waiter is registered */
	bool hash_timed_out[PENDING_SLOT_COUNT]; /* written without waiting more */
	struct wine_row wine;
	struct list_node node; /* on list->execs once added */
};

void pending_list_init(struct pending_list *list, struct process_table *processes,
		       void (*finish)(void *context, struct pending_exec *pending),
		       void *context);

/* Bounds (0: none): see above. */
void pending_list_set_bounds(struct pending_list *list, uint64_t max_wait_ns,
			     uint32_t max_pending);

/* Execs that waited for hashes past max_wait_ns by now_ns (CLOCK_BOOTTIME)
 * stop waiting: their rows are written. */
void pending_list_expire(struct pending_list *list, uint64_t now_ns);

/* Finish every exec still on the list, whatever it waits for (a hash not
 * computed yet is written as "pending"); the list is empty after. */
void pending_list_finish_all(struct pending_list *list);

/* A new exec for list (not on it yet), or NULL when out of memory. */
struct pending_exec *pending_exec_create(struct pending_list *list);
/* Free an exec that is not on its list. */
void pending_exec_free(struct pending_exec *pending);

/*
 * Put the exec on its list with one wait, the caller's own: the caller
 * registers the other waits (pending_exec_wait_for_hash(), a Wine hold),
 * then calls pending_exec_done(), so the row cannot be written halfway.
 * When max_pending execs wait already, the oldest stops waiting for hashes.
 */
void pending_exec_add(struct pending_exec *pending);

/* Wait for the hash of the slot's image if it is being computed. */
void pending_exec_wait_for_hash(struct pending_exec *pending, enum pending_slot slot);

/* Take back a wait of pending_exec_wait_for_hash() if it still waits. */
void pending_exec_stop_waiting(struct pending_exec *pending, enum pending_slot slot);

/* One wait is over; at the last the row is written and the exec freed. */
void pending_exec_done(struct pending_exec *pending);
/* The same; true when that was the last wait (the exec is freed). */
bool pending_exec_done_finished(struct pending_exec *pending);

/* Drop an exec on the list without a row (its waits taken back). */
void pending_exec_discard(struct pending_exec *pending);

#endif
