/*
 * kql_format.h - KQL values and result tables as text, and NDJSON records as
 * a row source.
 *
 * `rmmhunt query` and `rmmhunt rules test` print result tables with
 * kql_table_print(); `rules test --events FILE` and the tests read recorded
 * records with the NDJSON source.  Datetimes print as ISO 8601 UTC with 7
 * fractional digits (2026-11-28T16:14:40.1234567Z), timespans as
 * [-][d.]hh:mm:ss.fffffff, dynamic values as JSON.
 */
#ifndef RMMHUNT_KQL_FORMAT_H
#define RMMHUNT_KQL_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kql/kql.h"
#include "model/schema.h"
#include "model/value.h"

enum kql_format {
	KQL_FORMAT_TABLE, /* aligned columns, long values cut with an ellipsis */
	KQL_FORMAT_JSON,  /* one JSON object per row, columns in query order */
	KQL_FORMAT_CSV,	  /* RFC 4180: header line, CRLF, quoted as needed; control
			     characters escaped, formulas (= + - @) defused */
	KQL_FORMAT_CSV_RAW, /* the same, values exactly as they are */
};

/* "table", "json", "csv" -> format; -EINVAL for anything else. */
int kql_format_parse(const char *name, enum kql_format *format);

/*
 * Prints table to out.  max_width caps a table cell (in characters; 0: 48).
 * Returns 0 or -EIO.
 */
int kql_table_print(FILE *out, const struct kql_table *table, enum kql_format format,
		    size_t max_width);

/* Datetime ticks <-> ISO 8601 text ("2026-11-28T16:14:40.1234567Z"). */
#define KQL_DATETIME_TEXT 40
size_t kql_datetime_format(int64_t ticks, char buffer[KQL_DATETIME_TEXT]);
/* Accepts "YYYY-MM-DD[(T| )hh:mm[:ss[.f...]]][Z|+hh:mm|-hh:mm]"; -EINVAL. */
int kql_datetime_parse(const char *text, size_t length, int64_t *ticks);

/* One value as a new JSON reference (datetime/timespan as text). */
struct json_t *kql_value_to_json(const struct value *value);

/*
 * Records as NDJSON: one JSON object per line, keys = column names of schema.
 * Types follow the schema: datetime from ISO 8601 text, timespan from ticks
 * or [d.]hh:mm:ss text, long from integers,
 * real from numbers, bool from true/false, string from strings (an object or
 * array is kept as its JSON text), dynamic from any JSON.  A missing key or
 * null gives null, and the empty string for strings.  Keys the schema does
 * not know are ignored.  Blank lines are skipped.  A line that is not a
 * JSON object, or a value of the wrong type, stops the source with an error
 * naming the line and the column.
 */
struct kql_ndjson_source;

int kql_ndjson_open(FILE *in, const struct table_schema *schema,
		    struct kql_ndjson_source **source);
/* The kql_source view of it (valid while the NDJSON source lives). */
const struct kql_source *kql_ndjson_source(struct kql_ndjson_source *source);
void kql_ndjson_close(struct kql_ndjson_source *source);

#endif
