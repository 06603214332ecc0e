/*
 * kql_format.h - KQL values and result tables as text, and NDJSON records as
 * a row source; JSON values and result tables as typed values.
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

/*
 * One JSON value as a value of type (the conversion the NDJSON source, the
 * collector's batch reader and the CLI's fleet results share): datetime from
 * ISO 8601 text, timespan from ticks or [d.]hh:mm:ss text, long from an
 * integer, real from a number, bool from true/false, string from a string
 * (with lenient_strings, an object or array is kept as its JSON text in
 * *owned, malloc'd, which the caller frees), dynamic from any JSON (out->dyn
 * borrows json's reference).  NULL or JSON null gives null ("" for strings).
 * Returns 0, -EINVAL with *expected set to what the type wants ("expected a
 * string", ...), or -ENOMEM.
 */
int kql_json_to_value(struct json_t *json, enum value_type type, bool lenient_strings,
		      struct value *out, char **owned, const char **expected);

/*
 * The same rules for a JSON scalar already scanned (lib/base/json_scan.h:
 * the batch reader's fast path), strings decoded.  A container is refused
 * for every type but dynamic, which this form cannot carry (-EINVAL).
 */
enum kql_json_kind {
	KQL_JSON_NULL,
	KQL_JSON_BOOL,
	KQL_JSON_INTEGER,
	KQL_JSON_REAL,
	KQL_JSON_STRING,
	KQL_JSON_CONTAINER,
};

struct kql_json_scalar {
	enum kql_json_kind kind;
	bool boolean;
	int64_t integer;
	double real;
	const char *text; /* decoded, NUL-terminated */
	size_t length;
};

int kql_json_scalar_to_value(const struct kql_json_scalar *scalar, enum value_type type,
			     struct value *out, const char **expected);

/*
 * A result table from its JSON form (the collector's query answer):
 * columns = [{"name": N, "type": T}, ...], rows = [[v, ...], ...], each value
 * converted by kql_json_to_value().  Returns 0 with *table, -EINVAL with a
 * sentence in message, or -ENOMEM.
 */
int kql_table_from_json(struct json_t *columns, struct json_t *rows, struct kql_table **table,
			char *message, size_t message_size);

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
