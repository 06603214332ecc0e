/*
 * cache_schema.h - SQL shape of the cache, shared by its writer and reader.
 *
 * Tables (column names are the Kusto names, so a KQL column maps to a SQL
 * column of the same name):
 *
 *   DeviceProcessEvents  the 68 columns; datetimes as INTEGER ticks (100 ns
 *                        since the epoch), bools as 0/1, strings as TEXT.
 *                        Schema 1 stored it as this flat table; schema 2
 *                        keeps records in the compact layout
 *                        (cache_layout.h) and this is a view over it
 *   RuleHits             HitId, RuleId, RuleName, Tactics, Techniques, then
 *                        the 68 columns of the record that hit
 *   RuleSummaries        RuleId, RuleName, UpdatedTicks, SummaryJson (the
 *                        result as an array of row objects), Columns (its
 *                        columns: [{"name", "type"}]), Sequence (a new
 *                        number whenever the content changed)
 *   CacheMeta            key/value: schema version, retention counters, the
 *                        cache's random id, sequence high-water marks
 *
 * RuleHits is indexed on Timestamp (time filters are pushed down), as was
 * the flat DeviceProcessEvents (schema 1) and Events in schema 2; schemas 3
 * and 4 answer a time range on Events from a per-block summary instead
 * (EventBlocks, cache_layout.h).  RuleHits also on ReportId (is a record hit?).  Columns and Sequence came
 * after the first version of the file: the writer adds them to an older
 * cache (cache.c), readers of the two event tables never need them.
 */
#ifndef RMMHUNT_CACHE_SCHEMA_H
#define RMMHUNT_CACHE_SCHEMA_H

#include "model/schema.h"
#include "base/strbuf.h"

#define CACHE_SCHEMA_VERSION 6
#define CACHE_SCHEMA_FACTS_VERSION 5 /* compact, no linked Processes rows: read, converted */
#define CACHE_SCHEMA_SESSIONS_VERSION 4 /* compact, file facts in Shapes: read, converted */
#define CACHE_SCHEMA_BLOCKS_VERSION 3 /* compact, Events with the session facts: read, converted */
#define CACHE_SCHEMA_INDEXED_VERSION 2 /* compact, indexed on Timestamp: read, converted */
#define CACHE_SCHEMA_FLAT_VERSION 1 /* read, and converted by the writer */
#define CACHE_EVENTS_TABLE "DeviceProcessEvents"
#define CACHE_HITS_TABLE "RuleHits"
#define CACHE_SUMMARIES_TABLE "RuleSummaries"

/* RuleSummaries' columns added since the first version (cache.c adds them). */
#define CACHE_SUMMARY_ADDED_COLUMNS \
	"Columns TEXT NOT NULL DEFAULT '', Sequence INTEGER NOT NULL DEFAULT 0"

/* CacheMeta keys. */
#define CACHE_META_CACHE_ID "cache_id" /* random, set when the file is made */
#define CACHE_META_RECORD_SEQUENCE "record_sequence" /* largest rowid committed */
#define CACHE_META_HIT_SEQUENCE "hit_sequence" /* largest HitId committed */
#define CACHE_META_SUMMARY_SEQUENCE "summary_sequence"

/* The extra leading columns of RuleHits, before the record's columns. */
#define CACHE_HIT_COLUMN_COUNT 4
extern const struct column_def cache_hit_columns[CACHE_HIT_COLUMN_COUNT];

/* The schema of the RuleHits table as KQL sees it (4 + 68 columns). */
const struct table_schema *cache_hits_schema(void);

/*
 * ",\n  \"Name\" TYPE" for each column, typed as the stores keep values
 * (strings TEXT NOT NULL DEFAULT '', everything else INTEGER).
 */
void cache_schema_append_columns(struct strbuf *out, const struct column_def *columns,
				 size_t count);

/* "CREATE TABLE ..." statements of the whole cache, in one string. */
void cache_schema_sql(struct strbuf *out);

#endif
