/*
 * assembler.h - from probe records to finished DeviceProcessEvents rows.
 *
 * The assembler is the agent's core.  For each record the sensor delivers it
 * updates the process table (fork, exec, exit, scan), and for each exec it
 * gathers what the row needs: the new image, the initiating process and its
 * parent (from the lineage snapshots), and the file hashes.  When a hash is
 * still being computed (large files go to the hash worker) the exec waits as
 * a pending row and is finished when the last hash it needs arrives.  A
 * finished row gets its ReportId and goes to every sink.
 */
#ifndef RMMHUNT_AGENT_ASSEMBLER_H
#define RMMHUNT_AGENT_ASSEMBLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accounts.h"
#include "boot_clock.h"
#include "model/device.h"
#include "exec_event.h"
#include "file_cache.h"
#include "process_table.h"
#include "model/record.h"
#include "model/reportid.h"
#include "record_fragments.h"

/* Where finished rows go.  The record is only valid during the call. */
struct record_sink {
	void (*write)(void *context, const struct record *record);
	void *context;
};

#define ASSEMBLER_MAX_SINKS 8

struct assembler_stats {
	uint64_t events[EVENT_TYPE_COUNT]; /* by enum event_type */
	uint64_t malformed; /* records that failed to decode */
	uint64_t records; /* rows finished */
	uint64_t record_errors; /* rows that could not be built (memory) */
	uint64_t report_id_errors;
	uint64_t exec_without_known_process;
	struct record_fragments_stats fragments; /* JSON runs reused or made */
	uint32_t pending; /* rows waiting for a hash (or held, below) */
	uint64_t hash_wait_timeouts; /* rows written without a hash: time was up */
	uint64_t pending_overflow; /* rows that stopped waiting: too many waited */
	/* Windows programs under Wine (docs/records.md) */
	uint64_t wine_programs; /* images resolved to a Windows program */
	uint64_t wine_confirmed; /* that took its identity: maps showed it */
	uint64_t wine_not_wine_loaders; /* named like a loader, not Wine's */
	uint64_t wine_jobs_refused; /* the Wine worker's queue was full */
	uint64_t wine_budget_exceeded; /* lookups stopped: too costly */
	uint32_t wine_queued; /* jobs waiting for the Wine worker */
	uint64_t wine_steps_folded; /* loader-chain rows replaced by the next step */
	uint64_t wine_adopted; /* program taken from /proc/PID/maps */
	uint64_t wine_errors; /* out of memory while resolving */
	uint64_t wine_held_overflow; /* rows written early: too many held */
	uint32_t wine_held; /* rows held for the chain or the maps check */
};

struct assembler_context {
	const struct device_identity *identity;
	struct boot_clock *clock;
	struct file_cache *files;
	struct process_table *processes;
	struct accounts *accounts;
	struct report_ids *report_ids;
	/* Told once per file version whose hash is in (and which is not one of
	 * Wine's loaders): the probe need not wake the agent for its execs
	 * (sensor_mark_file_known()).  NULL: nobody to tell. */
	void (*file_known)(void *context, const struct exec_info *info);
	void *file_known_context;
};

struct assembler;

int assembler_create(struct assembler **out,
		     const struct assembler_context *context);
/* Pending rows are finished (with whatever hash status they have). */
void assembler_destroy(struct assembler *assembler);

int assembler_add_sink(struct assembler *assembler, struct record_sink sink);

/* Trust path as one of Wine's loaders (wine/wine_loaders.h). */
int assembler_add_wine_loader(struct assembler *assembler, const char *path);

/* Wine's file-system work on its thread from now on (until this is called:
 * on the caller's, as unit tests want).  Returns 0 or -errno. */
int assembler_start_workers(struct assembler *assembler);

/* How long a row waits for hashes, how many rows may wait (pending_exec.h;
 * until this is called: no bound). */
void assembler_set_bounds(struct assembler *assembler, uint64_t hash_wait_ns,
			  uint32_t max_pending);

/* One record from the ring buffer. */
void assembler_handle(struct assembler *assembler, const void *data, size_t size);

/*
 * Rows whose time to wait for hashes is up are written.  Held Wine rows:
 * read /proc/PID/maps of those due, write those whose program is mapped or
 * whose time is up.  Call it often (every loop turn); now_ns is
 * CLOCK_BOOTTIME.
 */
void assembler_poll(struct assembler *assembler, uint64_t now_ns);

/* No row waits (for a hash, a Wine step or its maps): nothing is due
 * before the next record. */
bool assembler_idle(const struct assembler *assembler);

/* After the start-up scan: link scanned processes to their creators. */
void assembler_scan_done(struct assembler *assembler);

void assembler_read_stats(struct assembler *assembler, struct assembler_stats *stats);

#endif
