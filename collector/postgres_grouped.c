/*
 * postgres_grouped.c - a fleet query's summarize run in PostgreSQL as
 * GROUP BY; the collector's KQL engine runs only what comes after it
 * (sort, project, take...) on the groups.
 *
 * kql_query_summarize_pushdown() says when a query allows it: a where-only
 * prefix whose time range and filters PostgreSQL can decide exactly (no row
 * left for the engine to check: postgres_append_filter() in exact mode),
 * then a summarize by plain columns with count(), min, max, sum, dcount,
 * make_set or make_list of plain columns.  The aggregates are written so
 * that PostgreSQL computes what the engine would (kql.h):
 *
 *   min, max   strings COLLATE "C" (bytewise, as the engine compares)
 *   sum        numeric in PostgreSQL, wrapped to 64 bits here as the engine
 *              wraps
 *   dcount     count(DISTINCT ...)
 *   make_set,  json_agg in the order the SQLite store hands rows to the
 *   make_list  engine (rowid, or Timestamp then rowid: postgres_query.c);
 *              duplicates and what is past the cap are dropped here
 *   groups     in the order of their first row in that same order
 *
 * so the answer is the one the engine gives over the rows themselves, on
 * either store.  The statistics say what ran where.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "postgres.h"
#include "store/cache_schema.h"

#define FETCH_GROUPS 4096
#define MAX_FILTER_NODES 64

struct grouped_scan {
	PGconn *connection;
	const struct table_schema *schema;
	struct kql_summarize_pushdown pushdown;
	PGresult *chunk;
	int chunk_row, chunk_rows;
	bool finished;
	struct value *row; /* keys then aggregates */
	json_t **arrays;   /* make_set / make_list values of the current row */
	uint64_t groups;
	char message[512];
};

/* ---- SQL ------------------------------------------------------------------------------- */

static void append_column(struct strbuf *sql, const struct table_schema *schema, size_t column)
{
	strbuf_appendf(sql, "\"%s\"", schema->columns[column].name);
}

static void append_aggregate(struct strbuf *sql, const struct table_schema *schema,
			     const struct kql_grouped_aggregate *aggregate, const char *order)
{
	bool text = schema->columns[aggregate->column].type == VALUE_STRING;

	switch (aggregate->kind) {
	case KQL_GROUPED_COUNT:
		strbuf_append_string(sql, "count(*)");
		return;
	case KQL_GROUPED_MIN:
	case KQL_GROUPED_MAX:
		strbuf_append_string(sql, aggregate->kind == KQL_GROUPED_MIN ? "min(" : "max(");
		append_column(sql, schema, aggregate->column);
		strbuf_append_string(sql, text ? " COLLATE \"C\")" : ")");
		return;
	case KQL_GROUPED_SUM:
		strbuf_append_string(sql, "sum(");
		append_column(sql, schema, aggregate->column);
		strbuf_append_string(sql, ")::text");
		return;
	case KQL_GROUPED_DCOUNT:
		strbuf_append_string(sql, "count(DISTINCT ");
		append_column(sql, schema, aggregate->column);
		strbuf_append_char(sql, ')');
		return;
	default: /* make_set, make_list */
		strbuf_append_string(sql, "json_agg(");
		append_column(sql, schema, aggregate->column);
		strbuf_appendf(sql, " ORDER BY %s) FILTER (WHERE ", order);
		append_column(sql, schema, aggregate->column);
		strbuf_append_string(sql, " IS NOT NULL)");
		return;
	}
}

/*
 * The GROUP BY query; -EOPNOTSUPP when its filters cannot be written
 * exactly.  *ranged tells whether a time range went in.
 */
static int build_sql(struct grouped_scan *scan, struct kql_query *query, const struct kql_filter *nodes,
		     int64_t now, struct strbuf *sql, bool *ranged)
{
	const struct table_schema *schema = scan->schema;
	const struct kql_summarize_pushdown *pushdown = &scan->pushdown;
	int64_t low = INT64_MIN, high = INT64_MAX;
	bool by_time = false;
	struct strbuf where;
	int status = 0;

	strbuf_init(&where);
	*ranged = schema_find_column(schema, "Timestamp") >= 0 &&
		  kql_query_time_range(query, "Timestamp", now, &low, &high) == 0 &&
		  (low != INT64_MIN || high != INT64_MAX);
	if (*ranged) {
		if (low > high)
			strbuf_append_string(&where, " AND false");
		if (low != INT64_MIN)
			strbuf_appendf(&where, " AND \"Timestamp\" >= %" PRId64, low);
		if (high != INT64_MAX)
			strbuf_appendf(&where, " AND \"Timestamp\" <= %" PRId64, high);
	}
	if (pushdown->filter_count > 0) {
		strbuf_append_string(&where, " AND ");
		if (!postgres_append_filter(&where, schema, nodes, 0, true))
			status = -EOPNOTSUPP;
	}
	/* the order the row scan would hand the rows over in (postgres_query.c) */
	if (status == 0 && *ranged)
		status = postgres_time_ordered(scan->connection, schema, low, high, &by_time);
	const char *order = by_time ? "\"Timestamp\", rowid" : "rowid";

	strbuf_append_string(sql, "SELECT ");
	for (size_t k = 0; k < pushdown->key_count; k++) {
		append_column(sql, schema, pushdown->keys[k]);
		strbuf_append_string(sql, ", ");
	}
	for (size_t a = 0; a < pushdown->aggregate_count; a++) {
		append_aggregate(sql, schema, &pushdown->aggregates[a], order);
		strbuf_append_string(sql, ", ");
	}
	sql->length -= 2;
	strbuf_appendf(sql, " FROM \"%s\" WHERE true%s", schema->name, strbuf_text(&where));
	if (pushdown->key_count > 0) {
		strbuf_append_string(sql, " GROUP BY ");
		for (size_t k = 0; k < pushdown->key_count; k++)
			strbuf_appendf(sql, "%s%zu", k ? ", " : "", k + 1);
		strbuf_append_string(sql, by_time ? " ORDER BY min(ARRAY[\"Timestamp\", rowid])"
						  : " ORDER BY min(rowid)");
	}
	if (where.failed || sql->failed)
		status = -ENOMEM;
	strbuf_free(&where);
	return status;
}

/* ---- values ------------------------------------------------------------------------------ */

/* A numeric's text as the engine's wrapping 64-bit sum. */
static int64_t wrapped_sum(const char *text)
{
	bool negative = *text == '-';
	uint64_t sum = 0;

	for (text += negative; *text >= '0' && *text <= '9'; text++)
		sum = sum * 10 + (uint64_t)(*text - '0');
	return (int64_t)(negative ? 0 - sum : sum);
}

struct element {
	json_t *json;
	size_t index;
};

static int compare_elements(const void *a, const void *b)
{
	const struct element *x = a, *y = b;
	int order;

	if (json_is_string(x->json)) {
		size_t x_length = json_string_length(x->json), y_length = json_string_length(y->json);
		size_t common = x_length < y_length ? x_length : y_length;

		order = memcmp(json_string_value(x->json), json_string_value(y->json), common);
		if (order == 0)
			order = (x_length > y_length) - (x_length < y_length);
	} else {
		json_int_t i = json_integer_value(x->json), j = json_integer_value(y->json);

		order = (i > j) - (i < j);
	}
	return order ? order : (x->index > y->index) - (x->index < y->index);
}

/* make_set: the first occurrence of each value, in order; then the cap. */
static json_t *first_occurrences(json_t *list, int64_t cap, bool distinct)
{
	size_t count = json_array_size(list);
	struct element *elements = calloc(count ? count : 1, sizeof(*elements));
	bool *duplicate = calloc(count ? count : 1, sizeof(*duplicate));
	json_t *out = json_array();

	if (!elements || !duplicate || !out) {
		free(elements);
		free(duplicate);
		json_decref(out);
		return NULL;
	}
	for (size_t i = 0; i < count; i++)
		elements[i] = (struct element){json_array_get(list, i), i};
	if (distinct) {
		qsort(elements, count, sizeof(*elements), compare_elements);
		for (size_t i = 1; i < count; i++)
			if (json_equal(elements[i].json, elements[i - 1].json))
				duplicate[elements[i].index] = true;
	}
	for (size_t i = 0; i < count && (int64_t)json_array_size(out) < cap; i++)
		if (!duplicate[i] && json_array_append(out, json_array_get(list, i)) < 0)
			break;
	free(elements);
	free(duplicate);
	return out;
}

static void release_arrays(struct grouped_scan *scan)
{
	for (size_t a = 0; a < scan->pushdown.aggregate_count; a++) {
		json_decref(scan->arrays[a]);
		scan->arrays[a] = NULL;
	}
}

/* A plain column's value from its text (strings point into the result). */
static void column_value(const char *text, size_t length, bool null, enum value_type type,
			 struct value *out)
{
	memset(out, 0, sizeof(*out));
	out->type = type;
	if (type == VALUE_STRING) { /* the engine's min/max of nothing: "" */
		out->str = null ? "" : text;
		out->len = null ? 0 : length;
		return;
	}
	out->is_null = null;
	if (null)
		return;
	if (type == VALUE_BOOL)
		out->b = text[0] == 't';
	else if (type == VALUE_REAL)
		out->r = strtod(text, NULL);
	else
		out->l = strtoll(text, NULL, 10);
}

static int aggregate_value(struct grouped_scan *scan, size_t a, int field, struct value *out)
{
	const struct kql_grouped_aggregate *aggregate = &scan->pushdown.aggregates[a];
	const char *text = PQgetvalue(scan->chunk, scan->chunk_row, field);
	bool null = PQgetisnull(scan->chunk, scan->chunk_row, field);
	enum value_type type = scan->schema->columns[aggregate->column].type;

	switch (aggregate->kind) {
	case KQL_GROUPED_COUNT:
	case KQL_GROUPED_DCOUNT:
		column_value(text, 0, null, VALUE_LONG, out);
		return 0;
	case KQL_GROUPED_MIN:
	case KQL_GROUPED_MAX:
		column_value(text, (size_t)PQgetlength(scan->chunk, scan->chunk_row, field), null,
			     type, out);
		return 0;
	case KQL_GROUPED_SUM:
		column_value(text, 0, true, type, out);
		out->is_null = null;
		if (!null)
			out->l = wrapped_sum(text);
		return 0;
	default: { /* make_set, make_list */
		json_t *list = null ? json_array() : json_loads(text, 0, NULL);

		scan->arrays[a] = list ? first_occurrences(list, aggregate->cap,
							   aggregate->kind == KQL_GROUPED_MAKE_SET)
				       : NULL;
		json_decref(list);
		if (!scan->arrays[a]) {
			snprintf(scan->message, sizeof(scan->message),
				 "PostgreSQL: an aggregate's array does not read as JSON");
			return -EPROTO;
		}
		*out = (struct value){.type = VALUE_DYNAMIC, .dyn = scan->arrays[a]};
		return 0;
	}
	}
}

static int next_group(void *context, const struct value **row)
{
	struct grouped_scan *scan = context;
	size_t keys = scan->pushdown.key_count;
	int status = 0;

	release_arrays(scan);
	if (scan->chunk_row >= scan->chunk_rows) {
		if (scan->finished)
			return 0;
		status = postgres_fetch(scan->connection, "groups", FETCH_GROUPS, &scan->chunk,
					&scan->chunk_rows, &scan->finished, scan->message,
					sizeof(scan->message));
		scan->chunk_row = 0;
		if (status || scan->chunk_rows == 0)
			return status;
	}
	for (size_t k = 0; k < keys; k++)
		column_value(PQgetvalue(scan->chunk, scan->chunk_row, (int)k),
			     (size_t)PQgetlength(scan->chunk, scan->chunk_row, (int)k),
			     PQgetisnull(scan->chunk, scan->chunk_row, (int)k),
			     scan->schema->columns[scan->pushdown.keys[k]].type, &scan->row[k]);
	for (size_t a = 0; status == 0 && a < scan->pushdown.aggregate_count; a++)
		status = aggregate_value(scan, a, (int)(keys + a), &scan->row[keys + a]);
	if (status)
		return status;
	scan->chunk_row++;
	scan->groups++;
	*row = scan->row;
	return 1;
}

static const char *group_error_message(void *context)
{
	struct grouped_scan *scan = context;

	return scan->message[0] ? scan->message : NULL;
}

/* ---- running ------------------------------------------------------------------------------ */

static int declare(struct grouped_scan *scan, const struct strbuf *sql)
{
	struct strbuf declaration;
	PGresult *result;

	strbuf_init(&declaration);
	strbuf_appendf(&declaration, "DECLARE groups NO SCROLL CURSOR FOR %s", strbuf_text(sql));
	if (declaration.failed) {
		strbuf_free(&declaration);
		return -ENOMEM;
	}
	result = PQexec(scan->connection, strbuf_text(&declaration));
	strbuf_free(&declaration);
	if (PQresultStatus(result) != PGRES_COMMAND_OK)
		snprintf(scan->message, sizeof(scan->message), "PostgreSQL: %s",
			 PQresultErrorMessage(result));
	return postgres_check(scan->connection, result, "declaring a cursor");
}

static void fill_plan(const struct grouped_scan *scan, const struct strbuf *sql, bool ranged,
		      json_t *plan)
{
	if (!plan)
		return;
	json_array_append_new(
		plan, json_pack("{s:s, s:s, s:b, s:b, s:b, s:I, s:s}", "table", scan->schema->name,
				"sql_in_postgresql", strbuf_text(sql), "time_range_in_postgresql",
				ranged, "filters_in_postgresql", 1, "summarize_in_postgresql", 1,
				"groups_to_collector", (json_int_t)scan->groups, "in_collector",
				"the operators after summarize, on the groups"));
}

int postgres_run_grouped(struct postgres_store *store, PGconn *connection, struct kql_query *query,
			 int64_t now, struct kql_table **result, struct kql_error *error,
			 json_t *plan)
{
	struct kql_filter nodes[MAX_FILTER_NODES];
	struct grouped_scan scan = {.connection = connection, .schema = store_event_table(kql_query_table(query))};
	struct kql_source source;
	struct strbuf sql;
	bool ranged = false;
	int status;

	if (!store->exact_filters || !scan.schema ||
	    kql_query_summarize_pushdown(query, "Timestamp", nodes, MAX_FILTER_NODES,
					 &scan.pushdown) != 0)
		return -EOPNOTSUPP;
	strbuf_init(&sql);
	status = build_sql(&scan, query, nodes, now, &sql, &ranged);
	if (status == -EOPNOTSUPP) {
		strbuf_free(&sql);
		return status;
	}
	scan.row = calloc(scan.pushdown.key_count + scan.pushdown.aggregate_count + 1,
			  sizeof(*scan.row));
	scan.arrays = calloc(scan.pushdown.aggregate_count + 1, sizeof(*scan.arrays));
	if (status == 0 && (!scan.row || !scan.arrays))
		status = -ENOMEM;
	if (status == 0)
		status = declare(&scan, &sql);
	if (status == 0) {
		source = (struct kql_source){scan.schema, next_group, group_error_message, &scan};
		status = kql_query_execute_grouped(query, &source, now, result, error);
	} else {
		memset(error, 0, sizeof(*error));
		error->kind = status == -ENOMEM ? KQL_ERROR_NOMEM : KQL_ERROR_RUNTIME;
		snprintf(error->message, sizeof(error->message), "%.300s",
			 scan.message[0] ? scan.message : strerror(-status));
	}
	fill_plan(&scan, &sql, ranged, plan);
	if (scan.arrays)
		release_arrays(&scan);
	PQclear(scan.chunk);
	free(scan.row);
	free(scan.arrays);
	strbuf_free(&sql);
	return status;
}
