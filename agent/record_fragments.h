/*
 * record_fragments.h - the JSON of what records repeat, serialised once.
 *
 * A file version's columns (FileName through the six version-info
 * columns: path, size, hashes, version info) and a process snapshot's (the
 * initiating process's columns, InitiatingProcessAccountDomain through
 * InitiatingProcessSignatureStatus) repeat over thousands of records: the
 * same program runs again, the same shell starts many children.  Each is
 * kept here as a record_fragment (model/record.h) and spliced into every
 * record that has the same values: the NDJSON stream, the hits and the
 * batches copy its bytes instead of escaping them again.  A fragment is
 * reused only when the record's values are byte for byte those it was made
 * from, so the output is the same as without it.
 *
 * The store is bounded: FRAGMENT_SLOTS slots per kind, chosen by the file
 * version (its file cache entry) and the snapshot (the initiating process's
 * pid and start time); a slot taken by another entry is made again.  Its
 * memory is at most 2 x FRAGMENT_SLOTS x (FRAGMENT_MAX_JSON + values),
 * however many processes and files the tables hold.
 */
#ifndef RMMHUNT_AGENT_RECORD_FRAGMENTS_H
#define RMMHUNT_AGENT_RECORD_FRAGMENTS_H

#include <stdint.h>

#include "model/record.h"

struct pending_exec;

struct record_fragments;

struct record_fragments_stats {
	uint64_t reused; /* runs copied from a fragment */
	uint64_t made; /* runs serialised (first time, or the values changed) */
	uint64_t not_kept; /* too long to keep, or out of memory */
};

int record_fragments_create(struct record_fragments **out);
void record_fragments_destroy(struct record_fragments *fragments);

/* Have record (built from pending, complete) written with the fragments of
 * its file version and its initiating process. */
void record_fragments_apply(struct record_fragments *fragments, struct record *record,
			    const struct pending_exec *pending);

void record_fragments_read_stats(const struct record_fragments *fragments,
				 struct record_fragments_stats *stats);

#endif
