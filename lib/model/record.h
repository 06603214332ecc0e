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

struct record {
	struct value values[DPE_COLUMN_COUNT];
	struct arena arena;
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

/* The 68 "Column":value members, into an object the caller opened. */
struct json_writer;
void record_write_json_members(const struct record *record, struct json_writer *writer);

#endif
