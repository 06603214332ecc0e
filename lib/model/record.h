/*
 * record.h - one DeviceProcessEvents row.
 *
 * The agent fills a record per exec; the rule engine reads its values as a
 * row of dpe_schema; the JSON writer prints it as one line with all 68
 * columns in the table's order.  String columns point into the record's own
 * arena and are never NULL (empty string by default); long, datetime and
 * bool columns start null.
 */
#ifndef RMMHUNT_RECORD_H
#define RMMHUNT_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "base/arena.h"
#include "model/schema.h"
#include "model/value.h"

#include "base/strbuf.h"

/*
 * A run of columns first..last that many records repeat (a file version's
 * columns, a process snapshot's), serialised once: the values it was made
 * from and their JSON members ("Key":value,... without braces), exactly as
 * record_write_json_members() writes them.  Its owner keeps it across
 * records (agent/record_fragments.h); a record only borrows it.
 */
struct record_fragment {
	enum dpe_column first, last;
	bool made; /* values and json hold a run */
	struct strbuf values; /* per column: struct value_key, then string bytes */
	struct strbuf json;
};

#define RECORD_FRAGMENTS_MAX 4

struct record {
	struct value values[DPE_COLUMN_COUNT];
	struct arena arena;
	/* runs of columns written from fragments (record_use_fragment()); a
	 * setter of one of their columns drops the fragment */
	const struct record_fragment *fragments[RECORD_FRAGMENTS_MAX];
	int fragment_count;
};

void record_init(struct record *record);
/* Back to the state record_init gives, keeping the arena's first block. */
void record_reset(struct record *record);
void record_free(struct record *record);

/* Copy text (must be valid UTF-8) into the record.  -ENOMEM on failure. */
int record_set_string(struct record *record, enum dpe_column column,
		      const char *text, size_t length);
int record_set_cstring(struct record *record, enum dpe_column column,
		       const char *text);
void record_set_long(struct record *record, enum dpe_column column,
		     int64_t value);
void record_set_datetime(struct record *record, enum dpe_column column,
			 int64_t ticks);
void record_set_bool(struct record *record, enum dpe_column column,
		     bool value);
void record_set_null(struct record *record, enum dpe_column column);
/* A value of the column's type (a string copied, as record_set_string);
 * 0 or -ENOMEM. */
int record_set_value(struct record *record, enum dpe_column column,
		     const struct value *value);

/*
 * The record as a JSON object, keys in table order.  Datetimes are ISO 8601
 * strings with seven fractional digits, longs are integers, bools are
 * true/false, nulls are null, AdditionalFields is a string holding JSON.
 * NULL when out of memory.
 */
json_t *record_to_json(const struct record *record);

/* One JSON line (with '\n') appended to out.  -ENOMEM on failure. */
struct strbuf;
int record_append_json_line(const struct record *record, struct strbuf *out);

void record_fragment_init(struct record_fragment *fragment, enum dpe_column first,
			  enum dpe_column last);
void record_fragment_free(struct record_fragment *fragment);

/*
 * Write record's columns fragment->first..last from fragment: reused when
 * the record's values are those it was made from (compared byte for byte),
 * else made again from them.  A run whose JSON would exceed max_json bytes
 * is not kept (the fragment is emptied).  Returns 1 reused, 0 made,
 * -E2BIG not kept, -ENOSPC the record holds RECORD_FRAGMENTS_MAX already,
 * -ENOMEM; on error the record is written column by column, as always.
 */
int record_use_fragment(struct record *record, struct record_fragment *fragment,
			size_t max_json);

/* The 68 "Column":value members, into an object the caller opened. */
struct json_writer;
void record_write_json_members(const struct record *record, struct json_writer *writer);

#endif
