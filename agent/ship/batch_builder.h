/*
 * batch_builder.h - one batch from the outbox: the rows after the cursors.
 *
 * Hits go first (they are what an analyst waits for), then rule summaries,
 * then records, each kind in number order, until the batch is full (its
 * byte or line limit).  With --ship hits, no record is read from the
 * records table: each hit carries its record, and the record goes into
 * the batch as a record line too, right before the hit, so the fleet's
 * DeviceProcessEvents holds every record a rule hit.
 *
 * The plan says what the batch took: the new cursors if the collector
 * acknowledges it, the numbers it found missing (rows retention removed
 * before they were shipped: dropped), and rows it skipped because they
 * name another DeviceId than this device (a host whose machine id
 * changed keeps older records in its cache; a device key may write only
 * its own DeviceId): counted as rejected.
 */
#ifndef RMMHUNT_AGENT_SHIP_BATCH_BUILDER_H
#define RMMHUNT_AGENT_SHIP_BATCH_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outbox_state.h"
#include "store/cache_outbox.h"
#include "wire/batch_writer.h"

struct batch_plan {
	int64_t after[OUTBOX_KINDS]; /* the cursors it started from */
	int64_t last[OUTBOX_KINDS]; /* the cursors once acknowledged */
	uint64_t gaps[OUTBOX_KINDS]; /* numbers missing: dropped */
	uint64_t foreign[OUTBOX_KINDS]; /* another DeviceId's rows: rejected */
	size_t lines[OUTBOX_KINDS]; /* lines per kind (records from hits count as records) */
	size_t line_count;
	size_t rows; /* rows taken into lines (a hit with its record is one) */
	/* -EFBIG: the row that does not fit even an empty batch */
	enum outbox_kind oversize_kind;
	int64_t oversize_sequence;
	int64_t last_report_id; /* --ship hits: the record last written */
	bool full; /* stopped by a limit, more rows wait */
};

struct batch_builder {
	const char *device_id, *device_name;
	bool hits_only;
	size_t row_limit; /* 0: none */
};

/*
 * Build the batch after the cursors into writer (begun with its header,
 * its byte limit the writer's).  Returns 0 (plan says what is in it; no
 * line at all is possible), -EFBIG (plan->oversize_*; nothing to send),
 * or a negative errno (the cache could not be read, out of memory).
 */
int batch_build(const struct batch_builder *builder, struct cache_outbox *outbox,
		struct batch_writer *writer, const int64_t after[OUTBOX_KINDS], int64_t now_ticks,
		struct batch_plan *plan);

#endif
