/*
 * batch_reader.c - gunzip and check a batch (see batch_reader.h).
 *
 * Record and hit lines (nearly all of a batch) are read in place by the
 * strict scanner (base/json_scan.h) straight into typed values; the header
 * and summary lines by jansson.  Either way the values are converted by the
 * KQL engine's one set of JSON rules (kql_json_scalar_to_value, behind
 * kql_json_to_value too), the rules the NDJSON row source uses, with
 * stricter ones on top: every column present once, no unknown key, strings
 * are JSON strings.  Duplicate keys are refused, so a line cannot say two
 * things about one field.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <zlib.h>

#include "base/array.h"
#include "base/json_scan.h"
#include "kql/kql_format.h"
#include "wire/batch_reader.h"
#include "wire/wire.h"

#define GUNZIP_CHUNK ((size_t)64 * 1024) /* small: a watcher starts on the text early */

/* ---- errors ------------------------------------------------------------- */

static int fail(struct batch_error *error, int status, unsigned long line, const char *format,
		...) __attribute__((format(printf, 4, 5)));

static int fail(struct batch_error *error, int status, unsigned long line, const char *format,
		...)
{
	char text[256];
	va_list arguments;

	va_start(arguments, format);
	vsnprintf(text, sizeof(text), format, arguments);
	va_end(arguments);
	error->status = status;
	error->line = line;
	if (line)
		snprintf(error->message, sizeof(error->message), "line %lu: %s", line, text);
	else
		snprintf(error->message, sizeof(error->message), "%s", text);
	return status == 413 ? -EFBIG : -EINVAL;
}

/* At most BATCH_ECHO_MAX bytes of a peer's text, cut on a UTF-8 boundary. */
static int echo_length(const char *text)
{
	size_t length = strnlen(text, BATCH_ECHO_MAX + 1);

	if (length > BATCH_ECHO_MAX) {
		length = BATCH_ECHO_MAX;
		while (length > 0 && ((unsigned char)text[length] & 0xc0) == 0x80)
			length--;
	}
	return (int)length;
}

/* ---- gunzip ------------------------------------------------------------- */

/*
 * Inflates into out, first reserving first_room bytes; fixed: never more
 * (the text never moves; more would be -EOVERFLOW, error not set).
 */
static int gunzip_into(const void *data, size_t length, size_t max_output, size_t first_room,
		       bool fixed, struct strbuf *out, void (*progress)(void *, size_t),
		       void *context, struct batch_error *error)
{
	z_stream stream;
	int code = Z_OK;
	/* out->length stays below limit: one byte of room is always left, so
	 * that inflate can reach the end of the stream */
	size_t limit = (fixed ? first_room : max_output) + 1;

	memset(&stream, 0, sizeof(stream));
	strbuf_clear(out);
	if (!strbuf_reserve(out, first_room + 2))
		return -ENOMEM;
	if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK)
		return -ENOMEM;
	stream.next_in = (Bytef *)data;
	stream.avail_in = (uInt)length;
	while (code != Z_STREAM_END) {
		size_t room = GUNZIP_CHUNK;

		if (out->length + room > limit)
			room = limit - out->length;
		if (room == 0 && fixed && limit <= max_output) {
			inflateEnd(&stream);
			return -EOVERFLOW;
		}
		if (room == 0 || !strbuf_reserve(out, room)) {
			inflateEnd(&stream);
			if (room == 0)
				return fail(error, 413, 0,
					    "the batch decompresses to more than %zu bytes", max_output);
			return -ENOMEM;
		}
		stream.next_out = (Bytef *)out->data + out->length;
		stream.avail_out = (uInt)room;
		code = inflate(&stream, Z_NO_FLUSH);
		out->length += room - stream.avail_out;
		out->data[out->length] = '\0';
		if (progress && out->length <= max_output)
			progress(context, out->length);
		if (out->length > max_output) {
			inflateEnd(&stream);
			return fail(error, 413, 0, "the batch decompresses to more than %zu bytes",
				    max_output);
		}
		if (code == Z_STREAM_END)
			break;
		if (code != Z_OK || (stream.avail_in == 0 && stream.avail_out != 0)) {
			inflateEnd(&stream);
			if (code == Z_MEM_ERROR)
				return -ENOMEM;
			return fail(error, 400, 0, "the body is not valid gzip (%s)",
				    code == Z_OK || code == Z_BUF_ERROR ? "truncated" : "corrupt");
		}
	}
	inflateEnd(&stream);
	return 0;
}

int batch_gunzip(const void *data, size_t length, size_t max_output, struct strbuf *out,
		 struct batch_error *error)
{
	/* records compress about tenfold: one allocation for most batches */
	size_t guess = length < max_output / 10 ? length * 10 : max_output;

	return gunzip_into(data, length, max_output, guess, false, out, NULL, NULL, error);
}

size_t batch_gunzip_announced(const void *data, size_t length)
{
	const unsigned char *trailer = (const unsigned char *)data + length - 4;

	if (length < 18) /* a header, an empty stream and the trailer */
		return 0;
	return (size_t)trailer[0] | (size_t)trailer[1] << 8 | (size_t)trailer[2] << 16 |
	       (size_t)trailer[3] << 24;
}

int batch_gunzip_watched(const void *data, size_t length, size_t max_output, size_t expected,
			 struct strbuf *out, void (*progress)(void *context, size_t inflated),
			 void *context, struct batch_error *error)
{
	return gunzip_into(data, length, max_output, expected < max_output ? expected : max_output,
			   true, out, progress, context, error);
}

/* ---- one line ------------------------------------------------------------- */

bool batch_check_identifier(const char *text, size_t length)
{
	if (length == 0 || length > BATCH_ID_MAX)
		return false;
	for (size_t i = 0; i < length; i++) {
		char c = text[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return false;
	}
	return true;
}

static const char *copy_text(struct batch_cursor *reader, const char *text, size_t length)
{
	return arena_strndup(&reader->batch->arena, text, length);
}

/* A member that must be a string (optional ones may be absent: ""). */
static int get_string(struct batch_cursor *reader, json_t *object, const char *where,
		      const char *key, bool required, const char **out)
{
	json_t *member = json_object_get(object, key);

	*out = "";
	if (!member && !required)
		return 0;
	if (!json_is_string(member))
		return fail(reader->error, 400, reader->line, "%s%s: %s", where, key,
			    member ? "expected a string" : "missing");
	*out = copy_text(reader, json_string_value(member), json_string_length(member));
	return *out ? 0 : -ENOMEM;
}

static int get_identifier(struct batch_cursor *reader, json_t *object, const char *where,
			  const char *key, const char **out)
{
	int result = get_string(reader, object, where, key, true, out);

	if (result == 0 && !batch_check_identifier(*out, strlen(*out)))
		return fail(reader->error, 400, reader->line,
			    "%s%s: expected 1 to %d characters of A-Z a-z 0-9 . _ : -", where, key,
			    BATCH_ID_MAX);
	return result;
}

static int get_datetime(struct batch_cursor *reader, json_t *object, const char *key,
			int64_t *ticks)
{
	json_t *member = json_object_get(object, key);
	const char *expected = NULL;
	struct value value;

	if (!member)
		return fail(reader->error, 400, reader->line, "%s: missing", key);
	if (!json_is_string(member) ||
	    kql_json_to_value(member, VALUE_DATETIME, false, &value, NULL, &expected) != 0)
		return fail(reader->error, 400, reader->line, "%s: expected a datetime string", key);
	*ticks = value.ticks;
	return 0;
}

/* One value of a typed column, strings copied into the batch's arena. */
static int convert_value(struct batch_cursor *reader, const char *where, const char *column,
			 enum value_type type, json_t *json, struct value *out)
{
	const char *expected = NULL;
	int result;

	if (type == VALUE_STRING && !json_is_string(json))
		return fail(reader->error, 400, reader->line, "%s%s: expected a string", where,
			    column);
	result = kql_json_to_value(json, type, false, out, NULL, &expected);
	if (result == -EINVAL)
		return fail(reader->error, 400, reader->line, "%s%s: %s", where, column, expected);
	if (result)
		return result;
	if (type == VALUE_STRING) {
		out->str = copy_text(reader, out->str, out->len);
		if (!out->str)
			return -ENOMEM;
	}
	return 0;
}

static int read_rule(struct batch_cursor *reader, json_t *line, struct batch_rule *rule)
{
	json_t *object = json_object_get(line, "rule");
	int result;

	if (!json_is_object(object))
		return fail(reader->error, 400, reader->line, "rule: %s",
			    object ? "expected an object" : "missing");
	result = get_identifier(reader, object, "rule.", "id", &rule->id);
	if (result == 0)
		result = get_string(reader, object, "rule.", "name", true, &rule->name);
	if (result == 0)
		result = get_string(reader, object, "rule.", "tactics", false, &rule->tactics);
	if (result == 0)
		result = get_string(reader, object, "rule.", "techniques", false,
				    &rule->techniques);
	return result;
}

/* Room for one more item (zeroed) at the end of a malloc'd array, or NULL. */
static void *grow(void **items, size_t *count, size_t *capacity, size_t size)
{
	void *room = array_reserve(*items, capacity, *count + 1, 64, size);
	char *item;

	if (!room)
		return NULL;
	*items = room;
	item = (char *)room + (*count)++ * size;
	memset(item, 0, size);
	return item;
}

/* ---- summaries ------------------------------------------------------------ */

struct summary_layout {
	size_t count;
	enum value_type *types;
	const char **names;
	int kept[BATCH_SUMMARY_COLUMN_COUNT]; /* summary column -> table column or -1 */
	int device_id;			      /* column DeviceId or -1 */
};

static const struct {
	const char *name;
	enum value_type type;
} summary_columns[BATCH_SUMMARY_COLUMN_COUNT] = {
	[BATCH_SUMMARY_FIRST_SEEN] = {"FirstSeen", VALUE_DATETIME},
	[BATCH_SUMMARY_LAST_SEEN] = {"LastSeen", VALUE_DATETIME},
	[BATCH_SUMMARY_REPORT] = {"Report", VALUE_DYNAMIC},
	[BATCH_SUMMARY_COUNT] = {"Count", VALUE_LONG},
};

static int read_layout(struct batch_cursor *reader, json_t *columns, struct summary_layout *layout)
{
	size_t index;
	json_t *column;

	if (!json_is_array(columns))
		return fail(reader->error, 400, reader->line, "columns: %s",
			    columns ? "expected an array" : "missing");
	layout->count = json_array_size(columns);
	layout->types = arena_alloc(&reader->batch->arena, (layout->count + 1) * sizeof(*layout->types));
	layout->names = arena_alloc(&reader->batch->arena, (layout->count + 1) * sizeof(*layout->names));
	if (!layout->types || !layout->names)
		return -ENOMEM;
	for (int i = 0; i < BATCH_SUMMARY_COLUMN_COUNT; i++)
		layout->kept[i] = -1;
	layout->device_id = -1;
	json_array_foreach(columns, index, column) {
		const char *name = json_string_value(json_object_get(column, "name"));
		const char *type = json_string_value(json_object_get(column, "type"));

		if (!name || !type || value_type_parse(type, &layout->types[index]) != 0)
			return fail(reader->error, 400, reader->line,
				    "columns[%zu]: expected {\"name\": string, \"type\": a Kusto type}",
				    index);
		layout->names[index] = name;
		if (strcmp(name, "DeviceId") == 0 && layout->types[index] == VALUE_STRING)
			layout->device_id = (int)index;
		for (int i = 0; i < BATCH_SUMMARY_COLUMN_COUNT; i++) {
			if (strcmp(name, summary_columns[i].name) == 0 &&
			    layout->types[index] == summary_columns[i].type)
				layout->kept[i] = (int)index;
		}
	}
	return 0;
}

/* A checked summary row, kept as the RuleSummaries columns. */
static int read_summary_row(struct batch_cursor *reader, const struct summary_layout *layout,
			    json_t *row, size_t row_index, struct value *kept)
{
	char where[48];

	if (!json_is_array(row) || json_array_size(row) != layout->count)
		return fail(reader->error, 400, reader->line,
			    "rows[%zu]: expected an array of %zu values", row_index, layout->count);
	snprintf(where, sizeof(where), "rows[%zu].", row_index);
	for (size_t i = 0; i < layout->count; i++) {
		struct value value = {0};
		int result = convert_value(reader, where, layout->names[i], layout->types[i],
					   json_array_get(row, i), &value);

		if (result)
			return result;
		if ((int)i == layout->device_id &&
		    (!value.str || strcmp(value.str, reader->batch->device_id) != 0))
			return fail(reader->error, 403, reader->line,
				    "%sDeviceId: not the batch's device_id", where);
	}
	for (int i = 0; i < BATCH_SUMMARY_COLUMN_COUNT; i++) {
		json_t *json = layout->kept[i] >= 0 ? json_array_get(row, (size_t)layout->kept[i]) : NULL;
		const char *expected = NULL;

		if (i == BATCH_SUMMARY_REPORT) {
			char *text = json ? json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

			kept[i].type = VALUE_STRING;
			kept[i].is_null = false;
			kept[i].str = copy_text(reader, text ? text : "", text ? strlen(text) : 0);
			kept[i].len = text ? strlen(text) : 0;
			free(text);
			if (!kept[i].str)
				return -ENOMEM;
			continue;
		}
		kql_json_to_value(json, summary_columns[i].type, false, &kept[i], NULL, &expected);
	}
	return 0;
}

static int read_summary(struct batch_cursor *reader, json_t *line)
{
	struct batch *batch = reader->batch;
	struct batch_summary *summary = grow((void **)&batch->summaries, &batch->summary_count,
					     &batch->summary_capacity, sizeof(*summary));
	struct summary_layout layout = {0};
	json_t *rows, *row;
	size_t index;
	int result;

	if (!summary)
		return -ENOMEM;
	result = read_rule(reader, line, &summary->rule);
	if (result == 0)
		result = get_datetime(reader, line, "updated", &summary->updated);
	if (result == 0)
		result = read_layout(reader, json_object_get(line, "columns"), &layout);
	if (result)
		return result;
	rows = json_object_get(line, "rows");
	if (!json_is_array(rows))
		return fail(reader->error, 400, reader->line, "rows: %s",
			    rows ? "expected an array" : "missing");
	summary->row_count = json_array_size(rows);
	summary->rows = arena_alloc(&batch->arena, (summary->row_count + 1) * sizeof(*summary->rows));
	if (!summary->rows)
		return -ENOMEM;
	json_array_foreach(rows, index, row) {
		result = read_summary_row(reader, &layout, row, index, summary->rows[index]);
		if (result)
			return result;
	}
	return 0;
}

/* ---- record and hit lines, scanned in place ---------------------------------- */

static int fail_scan(struct batch_cursor *reader, const struct json_scan *scan)
{
	return fail(reader->error, 400, reader->line, "not JSON: %s at column %zu", scan->message,
		    scan->error_offset + 1);
}

/*
 * A scanned string, decoded into the batch's string pool: a decoded string
 * and its NUL never take more room than its quoted text did, so a pool as
 * large as the batch's text holds them all, without zeroing or copying.
 */
static const char *keep_string(struct batch_cursor *reader, const struct json_scan_value *value,
			       size_t *length)
{
	struct batch *batch = reader->batch;
	char *text;

	if (batch->strings_used + value->raw_length + 1 > batch->strings_size)
		return NULL;
	text = batch->strings + batch->strings_used;
	*length = json_scan_decode(value, text);
	batch->strings_used += *length + 1;
	return text;
}

/* Which column a row key names: the next in table order is tried first. */
static int row_column(const struct json_scan_value *key, int expected, char *buffer,
		      size_t buffer_size)
{
	const char *name = key->raw;
	size_t length = key->raw_length;

	if (key->escaped) {
		if (key->raw_length >= buffer_size)
			return -1;
		length = json_scan_decode(key, buffer);
		name = buffer;
	}
	if (expected < DPE_COLUMN_COUNT && strlen(dpe_columns[expected].name) == length &&
	    memcmp(dpe_columns[expected].name, name, length) == 0)
		return expected;
	for (int i = 0; i < DPE_COLUMN_COUNT; i++) {
		if (strlen(dpe_columns[i].name) == length && memcmp(dpe_columns[i].name, name, length) == 0)
			return i;
	}
	return -1;
}

static int scan_cell(struct batch_cursor *reader, struct json_scan *scan, int column,
		     struct value *out)
{
	const struct column_def *def = &dpe_columns[column];
	struct json_scan_value value;
	struct kql_json_scalar scalar = {0};
	const char *expected = NULL;

	if (json_scan_value(scan, &value) != 0)
		return fail_scan(reader, scan);
	switch (value.kind) {
	case JSON_SCAN_NULL:
		scalar.kind = KQL_JSON_NULL;
		break;
	case JSON_SCAN_TRUE:
	case JSON_SCAN_FALSE:
		scalar.kind = KQL_JSON_BOOL;
		scalar.boolean = value.kind == JSON_SCAN_TRUE;
		break;
	case JSON_SCAN_INTEGER:
		scalar.kind = KQL_JSON_INTEGER;
		scalar.integer = value.integer;
		break;
	case JSON_SCAN_REAL:
		scalar.kind = KQL_JSON_REAL;
		scalar.real = value.real;
		break;
	case JSON_SCAN_STRING:
		scalar.kind = KQL_JSON_STRING;
		scalar.text = keep_string(reader, &value, &scalar.length);
		if (!scalar.text)
			return -ENOMEM;
		break;
	default:
		scalar.kind = KQL_JSON_CONTAINER;
		if (json_scan_skip(scan, value.kind) != 0)
			return fail_scan(reader, scan);
		break;
	}
	if (def->type == VALUE_STRING && scalar.kind != KQL_JSON_STRING)
		return fail(reader->error, 400, reader->line, "row.%s: expected a string", def->name);
	if (kql_json_scalar_to_value(&scalar, def->type, out, &expected) != 0)
		return fail(reader->error, 400, reader->line, "row.%s: %s", def->name, expected);
	return 0;
}

/* The row object: each of the 68 columns once, nothing else. */
static int scan_row(struct batch_cursor *reader, struct json_scan *scan, struct value values[])
{
	bool seen[DPE_COLUMN_COUNT] = {false};
	struct json_scan_value key;
	char name[BATCH_ECHO_MAX * 4];
	int expected = 0, count = 0, more;

	while ((more = json_scan_member(scan, &key)) == 1) {
		int column = row_column(&key, expected, name, sizeof(name));

		if (column < 0) {
			size_t length = key.escaped ? 0 : key.raw_length;

			return fail(reader->error, 400, reader->line, "row: unknown column '%.*s'",
				    (int)(length < BATCH_ECHO_MAX ? length : BATCH_ECHO_MAX), key.raw);
		}
		if (seen[column])
			return fail(reader->error, 400, reader->line, "row.%s: duplicate key",
				    dpe_columns[column].name);
		seen[column] = true;
		count++;
		expected = column + 1;
		int result = scan_cell(reader, scan, column, &values[column]);

		if (result)
			return result;
	}
	if (more < 0)
		return fail_scan(reader, scan);
	for (int i = 0; count < DPE_COLUMN_COUNT && i < DPE_COLUMN_COUNT; i++) {
		if (!seen[i])
			return fail(reader->error, 400, reader->line, "row.%s: missing",
				    dpe_columns[i].name);
	}
	if (strcmp(values[DPE_DEVICE_ID].str, reader->batch->device_id) != 0)
		return fail(reader->error, 403, reader->line,
			    "row.DeviceId: not the batch's device_id");
	return 0;
}

static bool key_is(const struct json_scan_value *key, const char *name)
{
	return !key->escaped && key->raw_length == strlen(name) &&
	       memcmp(key->raw, name, key->raw_length) == 0;
}

/* The rule object of a hit: id, name, tactics, techniques (strings). */
static int scan_rule(struct batch_cursor *reader, struct json_scan *scan, struct batch_rule *rule)
{
	static const char *const names[] = {"id", "name", "tactics", "techniques"};
	const char **fields[] = {&rule->id, &rule->name, &rule->tactics, &rule->techniques};
	struct json_scan_value key, value;
	int more;

	rule->id = rule->name = rule->tactics = rule->techniques = NULL;
	while ((more = json_scan_member(scan, &key)) == 1) {
		int field = -1;
		size_t length;

		for (int i = 0; i < 4; i++)
			if (key_is(&key, names[i]))
				field = i;
		if (json_scan_value(scan, &value) != 0)
			return fail_scan(reader, scan);
		if (field < 0) {
			if ((value.kind == JSON_SCAN_OBJECT || value.kind == JSON_SCAN_ARRAY) &&
			    json_scan_skip(scan, value.kind) != 0)
				return fail_scan(reader, scan);
			continue;
		}
		if (*fields[field])
			return fail(reader->error, 400, reader->line, "rule.%s: duplicate key",
				    names[field]);
		if (value.kind != JSON_SCAN_STRING)
			return fail(reader->error, 400, reader->line, "rule.%s: expected a string",
				    names[field]);
		*fields[field] = keep_string(reader, &value, &length);
		if (!*fields[field])
			return -ENOMEM;
	}
	if (more < 0)
		return fail_scan(reader, scan);
	if (!rule->id || !rule->name)
		return fail(reader->error, 400, reader->line, "rule.%s: missing",
			    rule->id ? "name" : "id");
	if (!batch_check_identifier(rule->id, strlen(rule->id)))
		return fail(reader->error, 400, reader->line,
			    "rule.id: expected 1 to %d characters of A-Z a-z 0-9 . _ : -", BATCH_ID_MAX);
	if (!rule->tactics)
		rule->tactics = "";
	if (!rule->techniques)
		rule->techniques = "";
	return 0;
}

enum scanned_kind { SCANNED_UNKNOWN, SCANNED_RECORD, SCANNED_HIT, SCANNED_OTHER };

struct scanned_line {
	enum scanned_kind kind;
	bool has_rule, has_row;
	struct batch_rule rule;
	struct value *values; /* the batch's next record slot: rows land in place */
};

static int scan_member(struct batch_cursor *reader, struct json_scan *scan,
		       const struct json_scan_value *key, struct scanned_line *line)
{
	struct json_scan_value value;

	if (json_scan_value(scan, &value) != 0)
		return fail_scan(reader, scan);
	if (key_is(key, "kind")) {
		if (line->kind != SCANNED_UNKNOWN)
			return fail(reader->error, 400, reader->line, "kind: duplicate key");
		if (value.kind != JSON_SCAN_STRING)
			return fail(reader->error, 400, reader->line, "kind: expected a string");
		line->kind = key_is(&value, WIRE_KIND_RECORD) ? SCANNED_RECORD
			     : key_is(&value, WIRE_KIND_HIT)  ? SCANNED_HIT
							      : SCANNED_OTHER;
		return 0;
	}
	if (key_is(key, "row") || key_is(key, "rule")) {
		bool row = key_is(key, "row");

		if (row ? line->has_row : line->has_rule)
			return fail(reader->error, 400, reader->line, "%s: duplicate key",
				    row ? "row" : "rule");
		if (value.kind != JSON_SCAN_OBJECT)
			return fail(reader->error, 400, reader->line, "%s: expected an object",
				    row ? "row" : "rule");
		*(row ? &line->has_row : &line->has_rule) = true;
		return row ? scan_row(reader, scan, line->values) : scan_rule(reader, scan, &line->rule);
	}
	/* another member: a summary's, or one this version does not know */
	if (value.kind == JSON_SCAN_OBJECT || value.kind == JSON_SCAN_ARRAY)
		return json_scan_skip(scan, value.kind) != 0 ? fail_scan(reader, scan) : 0;
	return 0;
}

/* The row was scanned into the next record slot: keep it there, or move
 * it to a hit. */
static int keep_scanned(struct batch_cursor *reader, const struct scanned_line *line)
{
	struct batch *batch = reader->batch;

	if (!line->has_row)
		return fail(reader->error, 400, reader->line, "row: missing");
	if (line->kind == SCANNED_RECORD) {
		batch->record_count++;
		return 0;
	}
	if (!line->has_rule)
		return fail(reader->error, 400, reader->line, "rule: missing");
	struct batch_hit *hit = grow((void **)&batch->hits, &batch->hit_count, &batch->hit_capacity,
				     sizeof(*hit));

	if (!hit)
		return -ENOMEM;
	hit->rule = line->rule;
	memcpy(hit->values, batch->records[batch->record_count].values, sizeof(hit->values));
	return 0;
}

/*
 * A record or hit line, scanned in place: 1 done, 0 not such a line (the
 * caller reads it with jansson), or a negative errno with the error set.
 */
static int scan_line(struct batch_cursor *reader, const char *text, size_t length)
{
	struct batch *batch = reader->batch;
	struct scanned_line scanned = {SCANNED_UNKNOWN, false, false, {NULL, NULL, NULL, NULL}, NULL};
	struct scanned_line *line = &scanned;
	struct json_scan scan;
	struct json_scan_value value, key;
	int more, result = 0;
	struct batch_record *slot = array_reserve(batch->records, &batch->record_capacity,
						  batch->record_count + 1, 64, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	batch->records = slot;
	line->values = batch->records[batch->record_count].values;
	json_scan_init(&scan, text, length);
	if (json_scan_value(&scan, &value) != 0)
		result = fail_scan(reader, &scan);
	else if (value.kind != JSON_SCAN_OBJECT)
		result = fail(reader->error, 400, reader->line, "expected a JSON object");
	while (result == 0 && line->kind != SCANNED_OTHER &&
	       (more = json_scan_member(&scan, &key)) != 0) {
		result = more < 0 ? fail_scan(reader, &scan)
				  : scan_member(reader, &scan, &key, line);
	}
	if (result == 0 && line->kind == SCANNED_UNKNOWN)
		result = fail(reader->error, 400, reader->line, "kind: missing");
	if (result == 0 && line->kind != SCANNED_OTHER && json_scan_finish(&scan) != 0)
		result = fail_scan(reader, &scan);
	if (result == 0 && line->kind != SCANNED_OTHER)
		result = keep_scanned(reader, line) ?: 1;
	return result;
}

/* ---- the header and the lines ---------------------------------------------- */

static int read_header(struct batch_cursor *reader, json_t *line)
{
	struct batch *batch = reader->batch;
	json_t *schema = json_object_get(line, "schema");
	const char *id, *device_id;
	int result;

	if (!json_is_integer(schema))
		return fail(reader->error, 400, reader->line, "schema: %s",
			    schema ? "expected an integer" : "missing");
	if (json_integer_value(schema) != WIRE_SCHEMA_VERSION)
		return fail(reader->error, 400, reader->line,
			    "schema: unknown schema version %lld (this collector reads %d)",
			    (long long)json_integer_value(schema), WIRE_SCHEMA_VERSION);
	result = get_identifier(reader, line, "", "batch", &id);
	if (result == 0)
		result = get_identifier(reader, line, "", "device_id", &device_id);
	if (result == 0)
		result = get_string(reader, line, "", "device_name", true, &batch->device_name);
	if (result == 0)
		result = get_datetime(reader, line, "sent", &batch->sent);
	if (result)
		return result;
	snprintf(batch->id, sizeof(batch->id), "%s", id);
	snprintf(batch->device_id, sizeof(batch->device_id), "%s", device_id);
	return 0;
}

static int read_item(struct batch_cursor *reader, json_t *line)
{
	json_t *kind = json_object_get(line, "kind");
	const char *name = json_string_value(kind);

	if (!name)
		return fail(reader->error, 400, reader->line, "kind: %s",
			    kind ? "expected a string" : "missing");
	if (strcmp(name, WIRE_KIND_SUMMARY) == 0)
		return read_summary(reader, line);
	return fail(reader->error, 400, reader->line, "kind: unknown kind '%.*s'",
		    echo_length(name), name);
}

/* jansson's message without the text it quotes ("... near 'xyz'"). */
static int fail_parse(struct batch_cursor *reader, const json_error_t *parse)
{
	char text[sizeof(parse->text)];
	char *near;

	snprintf(text, sizeof(text), "%s", parse->text);
	near = strstr(text, " near ");
	if (near)
		*near = '\0';
	return fail(reader->error, 400, reader->line, "not JSON: %.*s at column %d",
		    echo_length(text), text, parse->column);
}

static bool is_blank(const char *text, size_t length)
{
	for (size_t i = 0; i < length; i++) {
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r')
			return false;
	}
	return true;
}

int batch_decode_start(struct batch *batch, size_t text_length, struct batch_error *error)
{
	memset(batch, 0, sizeof(*batch));
	memset(error, 0, sizeof(*error));
	arena_init(&batch->arena, 0);
	batch->strings_size = text_length + 1;
	batch->strings = malloc(batch->strings_size);
	return batch->strings ? 0 : -ENOMEM;
}

int batch_decode_line(struct batch_cursor *cursor, const char *text, size_t length)
{
	struct batch *batch = cursor->batch;
	json_error_t parse;
	json_t *line;
	int result;

	cursor->line++;
	if (is_blank(text, length))
		return 0;
	if (batch->id[0] != '\0') {
		result = scan_line(cursor, text, length);
		if (result != 0)
			return result > 0 ? 0 : result;
	}
	line = json_loadb(text, length, JSON_REJECT_DUPLICATES, &parse);
	if (!line)
		return fail_parse(cursor, &parse);
	if (!json_is_object(line))
		result = fail(cursor->error, 400, cursor->line, "expected a JSON object");
	else if (batch->id[0] == '\0')
		result = read_header(cursor, line);
	else
		result = read_item(cursor, line);
	json_decref(line);
	return result;
}

int batch_decode_finish(const struct batch_cursor *cursor)
{
	if (cursor->batch->id[0] == '\0')
		return fail(cursor->error, 400, 0, "empty batch: the header line is missing");
	return 0;
}

/*
 * Decodes the lines from *position up to end; stops after the header when
 * header_only.  Returns 0 or a negative errno (error set); *position is
 * where it stopped.
 */
static int decode_lines(struct batch_cursor *cursor, const char **position, const char *end,
			bool header_only)
{
	const char *text = *position;
	int result = 0;

	while (text < end && result == 0 && !(header_only && cursor->batch->id[0] != '\0')) {
		const char *newline = memchr(text, '\n', (size_t)(end - text));
		size_t line_length = newline ? (size_t)(newline - text) : (size_t)(end - text);

		result = batch_decode_line(cursor, text, line_length);
		text += line_length + 1;
	}
	*position = text < end ? text : end;
	return result ? result : batch_decode_finish(cursor);
}

int batch_decode(const char *text, size_t length, struct batch *batch, struct batch_error *error)
{
	struct batch_cursor reader = {batch, error, 0};
	int result = batch_decode_start(batch, length, error);

	return result ? result : decode_lines(&reader, &text, text + length, false);
}

/* ---- one batch in two parts ---------------------------------------------------- */

int batch_decode_header(const char *text, size_t length, struct batch *batch,
			struct batch_error *error, struct batch_part *rest)
{
	struct batch_cursor reader = {batch, error, 0};
	const char *position = text;
	int result = batch_decode_start(batch, length, error);

	if (result == 0)
		result = decode_lines(&reader, &position, text + length, true);
	rest->text = position;
	rest->length = (size_t)(text + length - position);
	rest->lines_before = reader.line;
	return result;
}

void batch_split(const struct batch_part *whole, struct batch_part *first, struct batch_part *second)
{
	const char *middle = whole->text + whole->length / 2;
	const char *newline = memchr(middle, '\n', (size_t)(whole->text + whole->length - middle));
	const char *cut = newline ? newline + 1 : whole->text + whole->length;
	unsigned long lines = 0;

	for (const char *p = whole->text; (p = memchr(p, '\n', (size_t)(cut - p))) != NULL; p++)
		lines++;
	*first = (struct batch_part){whole->text, (size_t)(cut - whole->text), whole->lines_before};
	*second = (struct batch_part){cut, (size_t)(whole->text + whole->length - cut),
				      whole->lines_before + lines};
}

int batch_decode_part(const struct batch *header, const struct batch_part *part,
		      struct batch *batch, struct batch_error *error)
{
	struct batch_cursor reader = {batch, error, part->lines_before};
	const char *position = part->text;
	int result = 0;

	memset(error, 0, sizeof(*error));
	if (batch != header)
		result = batch_decode_start(batch, part->length, error);

	if (result)
		return result;
	if (batch != header) {
		memcpy(batch->id, header->id, sizeof(batch->id));
		memcpy(batch->device_id, header->device_id, sizeof(batch->device_id));
		batch->device_name = header->device_name;
		batch->sent = header->sent;
	}
	return decode_lines(&reader, &position, part->text + part->length, false);
}

/* Appends count items of size bytes to a malloc'd array. */
static int append_items(void **items, size_t *item_count, size_t *capacity, const void *more,
			size_t count, size_t size)
{
	void *room;

	if (count == 0)
		return 0;
	room = array_reserve(*items, capacity, *item_count + count, 64, size);
	if (!room)
		return -ENOMEM;
	*items = room;
	memcpy((char *)room + *item_count * size, more, count * size);
	*item_count += count;
	return 0;
}

int batch_join(struct batch *batch, struct batch *second)
{
	struct batch *kept = malloc(sizeof(*kept));
	int result = kept ? 0 : -ENOMEM;

	if (result == 0)
		result = append_items((void **)&batch->records, &batch->record_count,
				      &batch->record_capacity, second->records, second->record_count,
				      sizeof(*second->records));
	if (result == 0)
		result = append_items((void **)&batch->hits, &batch->hit_count, &batch->hit_capacity,
				      second->hits, second->hit_count, sizeof(*second->hits));
	if (result == 0)
		result = append_items((void **)&batch->summaries, &batch->summary_count,
				      &batch->summary_capacity, second->summaries,
				      second->summary_count, sizeof(*second->summaries));
	if (result) {
		free(kept);
		batch_free(second);
		return result;
	}
	/* the values point into second's strings and arena: keep them */
	*kept = *second;
	kept->attached = batch->attached;
	batch->attached = kept;
	memset(second, 0, sizeof(*second));
	return 0;
}

void batch_free(struct batch *batch)
{
	if (batch->attached) {
		batch_free(batch->attached);
		free(batch->attached);
	}
	free(batch->records);
	free(batch->hits);
	free(batch->summaries);
	free(batch->strings);
	arena_release(&batch->arena);
	memset(batch, 0, sizeof(*batch));
}
