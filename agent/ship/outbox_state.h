/*
 * outbox_state.h - the shipper's cursors: STATE_DIR/outbox.json.
 *
 * The outbox is the local cache itself (lib/store/cache_outbox.h); what
 * the shipper owns is, per kind, the largest number the collector
 * acknowledged, and the counts of what never reached it: rows retention
 * removed before they were shipped (dropped) and rows the collector
 * refused for good (rejected).  The file is replaced atomically after
 * every acknowledged batch (lib/base/state_file.h): after a crash the
 * unacknowledged batch is sent again and the collector's uniqueness makes
 * that harmless.  cache_id ties the cursors to one cache file: a new cache
 * (deleted, restored) is shipped from its start.
 *
 *   {"schema": 1, "cache_id": 8364..., "records": 1200, "hits": 3,
 *    "summaries": 17, "dropped_records": 0, "dropped_hits": 0,
 *    "rejected_records": 0, "rejected_hits": 0, "rejected_summaries": 0}
 */
#ifndef RMMHUNT_AGENT_SHIP_OUTBOX_STATE_H
#define RMMHUNT_AGENT_SHIP_OUTBOX_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "base/strbuf.h"

#define OUTBOX_STATE_FILE_NAME "outbox.json"
#define OUTBOX_STATE_SCHEMA 1

enum outbox_kind { OUTBOX_RECORDS, OUTBOX_HITS, OUTBOX_SUMMARIES, OUTBOX_KINDS };

struct outbox_state {
	int64_t cache_id;
	int64_t acknowledged[OUTBOX_KINDS]; /* cursors */
	uint64_t dropped[OUTBOX_KINDS]; /* removed by retention unshipped (not summaries) */
	uint64_t rejected[OUTBOX_KINDS]; /* refused by the collector for good */
};

/*
 * Parse the file's text.  Returns 0, or -EINVAL with a reason in message
 * (not JSON, an unknown schema, a member that is not a non-negative
 * integer).  Members that are missing are 0.
 */
int outbox_state_parse(const char *text, size_t length, struct outbox_state *state,
		       char *message, size_t message_size);

/* The file's text (one line). */
void outbox_state_format(const struct outbox_state *state, struct strbuf *out);

/* Load path: 0, 1 when there is no file (state zeroed), or a negative errno
 * with a reason in message (state zeroed). */
int outbox_state_load(const char *path, struct outbox_state *state, char *message,
		      size_t message_size);
/* Replace path atomically.  0 or a negative errno. */
int outbox_state_save(const char *path, const struct outbox_state *state);

#endif
