/*
 * pending_exec.h - one exec on its way to becoming a row.
 *
 * Shared by assembler.c (which creates it and waits for its hashes) and
 * record_builder.c (which turns it into the 68 columns).  Everything the row
 * needs is held here by value or by reference, so a pending exec does not
 * depend on the process table keeping any entry.
 */
#ifndef RMMHUNT_AGENT_PENDING_EXEC_H
#define RMMHUNT_AGENT_PENDING_EXEC_H

#include <stdbool.h>
#include <stdint.h>

#include "exec_facts.h"
#include "file_cache.h"
#include "process_table.h"

struct assembler;

struct pending_exec {
	struct assembler *assembler;
	struct exec_facts facts;
	struct process_ref process; /* the new image: process.image */
	struct process_ref initiating; /* parent, or the previous image */
	struct process_ref initiating_parent;
	bool initiating_is_previous_image; /* exec without fork */
	uint32_t exec_sequence; /* 1 = first exec of this process */
	int waiting; /* hashes still pending */
	struct file_waiter waiters[2];
	struct pending_exec *previous, *next; /* the assembler's pending list */
};

#endif
