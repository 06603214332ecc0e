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

#include "base/list.h"
#include "exec_facts.h"
#include "file_cache.h"
#include "process_table.h"
#include "wine.h"

struct assembler;
struct pending_exec;

/* Steps of Wine's loader chain remembered in the row (WineLoaderChain). */
#define WINE_CHAIN_MAX 8

/* The Wine side of a row: see docs/records.md, "Windows programs under Wine". */
struct wine_row {
	bool step; /* the exec is a step of Wine's loader chain */
	bool final_step; /* the loader that runs the program */
	bool child; /* started by a Windows program */
	bool binfmt; /* a step's filename was the PE (binfmt_misc) */
	char *prefix; /* the Wine prefix a step found, for the next steps */
	uint32_t intermediate_pid; /* Wine's double fork: the middle process */
	char *chain[WINE_CHAIN_MAX]; /* loaders of the steps folded into it */
	uint32_t chain_length; /* steps folded, this one included */
	uint32_t first_sequence; /* ExecSequence of the chain's first step */
	enum wine_mapped mapped; /* what /proc/PID/maps showed */
	char *mapped_path;
	/* held until the chain goes on, the program is seen mapped, the
	 * process exits or the deadline passes */
	uint64_t hold_deadline_ns, next_maps_check_ns, maps_interval_ns;
	struct list_node held_node; /* on the assembler's held list */
};

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
	struct wine_row wine;
	struct list_node pending_node; /* on the assembler's pending list */
};

#endif
