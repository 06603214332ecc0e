/*
 * reportid.h - ReportId: a per-device counter that never repeats.
 *
 * The state file holds the first id no running agent has handed out yet.
 * The agent reserves ids in blocks: before it uses a block it writes the
 * block's end to the file (write, fsync, rename), so after any crash or
 * kill -9 the next start continues past every id that could have been used.
 * Unused ids of a reserved block are skipped, never reused.
 */
#ifndef RMMHUNT_REPORTID_H
#define RMMHUNT_REPORTID_H

#include <stdint.h>

struct report_ids {
	char *path;
	int64_t next; /* next id to hand out */
	int64_t reserved_end; /* ids < reserved_end are ours */
	int64_t block_size;
};

/* Open (create) the counter at state_dir/reportid.  0 or negative errno. */
int report_ids_open(struct report_ids *ids, const char *state_dir,
		    int64_t block_size);
/* The next id; negative errno if a new block could not be reserved. */
int64_t report_ids_next(struct report_ids *ids);
void report_ids_close(struct report_ids *ids);

#endif
