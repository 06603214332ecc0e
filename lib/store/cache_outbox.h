/*
 * cache_outbox.h - the local cache as the shipper's outbox.
 *
 * Nothing is copied for shipping: records, hits and summary versions are
 * durable in the cache once committed, and each carries a number that only
 * grows (cache.h).  The shipper keeps, per kind, the largest number the
 * collector acknowledged (its cursor) and reads what comes after it here,
 * through a read-only connection of its own, in short read transactions
 * (one per call), so it never holds the writer's checkpoints back.
 *
 * Record and hit numbers are dense: a number in (cursor, high-water] that
 * is not in the table is a row that retention removed before it was
 * shipped.  The reader hands rows out in number order; the caller sees the
 * gaps and counts them.
 */
#ifndef RMMHUNT_CACHE_OUTBOX_H
#define RMMHUNT_CACHE_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "model/record.h"
#include "store/cache.h"

enum cache_outbox_kind {
	CACHE_OUTBOX_RECORDS, /* DeviceProcessEvents, by rowid */
	CACHE_OUTBOX_HITS, /* RuleHits, by HitId */
	CACHE_OUTBOX_SUMMARIES, /* RuleSummaries, by Sequence */
	CACHE_OUTBOX_KINDS
};

/* One row handed out: strings point into SQLite's row, valid during the
 * visit only. */
struct cache_outbox_row {
	int64_t sequence;
	/* records and hits: the 68 columns (its arena is not used) */
	struct record record;
	/* hits and summaries */
	const char *rule_id, *rule_name;
	/* hits */
	const char *tactics, *techniques;
	/* summaries: when computed, its columns and rows as JSON text */
	int64_t updated_ticks;
	const char *columns_json, *rows_json;
};

/* What the outbox's cursors are checked against, read in one transaction. */
struct cache_outbox_state {
	int64_t cache_id; /* the file's random id: cursors belong to one file */
	struct cache_sequences high_water; /* the largest numbers committed */
};

struct cache_outbox;

/*
 * Opens the cache at path read-only (the agent's writer created it).
 * Returns 0 or a negative errno with a sentence naming the file in message.
 */
int cache_outbox_open(const char *path, struct cache_outbox **out, char *message,
		      size_t message_size);
void cache_outbox_close(struct cache_outbox *outbox);

int cache_outbox_read_state(struct cache_outbox *outbox, struct cache_outbox_state *state);

/*
 * Hands the rows of kind numbered above after to visit, in number order, at
 * most limit of them.  visit returns 0 to go on, 1 to stop (the row it was
 * given is not taken), or a negative errno (returned).  Returns 0 or a
 * negative errno.
 */
typedef int (*cache_outbox_visit)(void *context, const struct cache_outbox_row *row);
int cache_outbox_read(struct cache_outbox *outbox, enum cache_outbox_kind kind, int64_t after,
		      size_t limit, cache_outbox_visit visit, void *context);

/*
 * The first row of kind numbered above after: its number and Timestamp
 * (UpdatedTicks for a summary); both 0 when there is none.
 */
int cache_outbox_first_after(struct cache_outbox *outbox, enum cache_outbox_kind kind,
			     int64_t after, int64_t *sequence, int64_t *timestamp);

/* How many rows of kind are numbered above after. */
int cache_outbox_count_after(struct cache_outbox *outbox, enum cache_outbox_kind kind,
			     int64_t after, int64_t *count);

/* The whole cache: records held and the oldest one's Timestamp (0: none). */
int cache_outbox_cache_facts(struct cache_outbox *outbox, int64_t *records,
			     int64_t *oldest_ticks);

const char *cache_outbox_error(const struct cache_outbox *outbox);

#endif
