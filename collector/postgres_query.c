/*
 * postgres_query.c - fleet KQL over the PostgreSQL store: what can run in
 * PostgreSQL runs there, the rest runs in the collector's KQL engine on the
 * rows PostgreSQL hands over.
 *
 * For each table a query reads, one SELECT of the columns the query uses:
 *
 *   time range   the where bounds on Timestamp (kql_query_time_range) as
 *                "Timestamp" BETWEEN: PostgreSQL prunes the day partitions
 *   filters      the where predicates' tree (kql_query_filter) translated
 *                to SQL: has (rmmhunt_has(), schema version 2), contains,
 *                startswith, endswith, =~, ==, in, in~ and their _cs forms,
 *                and/or of them.  A case-insensitive needle that is not
 *                ASCII is not pushed down (PostgreSQL's case folding is not
 *                KQL's Unicode folding), nor is any needle that is not
 *                valid UTF-8; 'k' and 's' also match the Kelvin sign and
 *                the long s, which fold to them.  The SQL only ever lets
 *                more rows through than the KQL: the engine still decides
 *                on every row.
 *   order        the SQLite store's row order (by rowid, or by Timestamp
 *                then rowid when the range covers less than half of the
 *                table's time span), so operators that keep input order
 *                (summarize's groups, make_set, take) answer the same on
 *                either store.
 *
 * Rows come through a cursor in chunks, all tables of a query in one
 * REPEATABLE READ, READ ONLY transaction (one snapshot).  A query whose
 * summarize PostgreSQL can compute exactly runs as GROUP BY instead
 * (postgres_grouped.c); the filters are then written exactly (exact mode
 * below: a regular expression of what KQL matches beside each LIKE).
 * The statistics
 * (the "stats" of POST /v1/query, `rmmhunt query --stats`) list per table
 * the SQL that ran in PostgreSQL and the rows it handed to the collector.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "base/text.h"
#include "base/unicode.h"
#include "kql/kql_ops.h"
#include "postgres.h"
#include "store/cache_schema.h"

#define FETCH_ROWS 4096
#define MAX_FILTER_NODES 64
#define MAX_IN_VALUES 1000

struct query_context {
	struct postgres_store *store;
	struct postgres_connection *slot;
	json_t *plan; /* array of per-table objects, may be NULL */
	int cursors;  /* cursors declared so far (their names) */
};

struct postgres_scan {
	struct kql_source source;
	PGconn *connection;
	char cursor[32];
	PGresult *chunk;
	int chunk_row, chunk_rows;
	bool finished;
	struct value *row;
	int *selected; /* result column -> schema column */
	size_t selected_count;
	json_t **dynamics;
	uint64_t rows_read;
	json_t *plan; /* this table's entry (borrowed) */
	char message[512];
};

/* ---- SQL of the filters ----------------------------------------------------------- */

static void append_literal(struct strbuf *sql, const char *text, size_t length)
{
	strbuf_append_char(sql, '\'');
	for (size_t i = 0; i < length; i++) {
		if (text[i] == '\'')
			strbuf_append_char(sql, '\'');
		strbuf_append_char(sql, text[i]);
	}
	strbuf_append_char(sql, '\'');
}

static bool is_ascii(const char *text, size_t length)
{
	for (size_t i = 0; i < length; i++)
		if ((unsigned char)text[i] >= 0x80 || text[i] == '\0')
			return false;
	return true;
}

/* Can this text go into SQL at all (as a case_sensitive comparison or not)? */
static bool pushable(const struct value *value, bool case_sensitive)
{
	if (value->type != VALUE_STRING || memchr(value->str, '\0', value->len))
		return false;
	return case_sensitive ? utf8_is_valid(value->str, value->len)
			      : is_ascii(value->str, value->len);
}

/*
 * A LIKE pattern for text between the wildcards given: %, _ and \ escaped;
 * case-insensitive ones turn k and s into _ (the Kelvin sign and the long s
 * fold to them).
 */
static void append_pattern(struct strbuf *sql, const char *before, const struct value *value,
			   bool case_sensitive, const char *after)
{
	struct strbuf pattern;

	strbuf_init(&pattern);
	strbuf_append_string(&pattern, before);
	for (size_t i = 0; i < value->len; i++) {
		char c = value->str[i];

		if (!case_sensitive && (c == 'k' || c == 'K' || c == 's' || c == 'S')) {
			strbuf_append_char(&pattern, '_');
			continue;
		}
		if (c == '%' || c == '_' || c == '\\')
			strbuf_append_char(&pattern, '\\');
		strbuf_append_char(&pattern, c);
	}
	strbuf_append_string(&pattern, after);
	append_literal(sql, pattern.data ? pattern.data : "", pattern.length);
	if (pattern.failed)
		sql->failed = true;
	strbuf_free(&pattern);
}

static void append_like(struct strbuf *sql, const char *column, const char *before,
			const struct value *value, bool case_sensitive, const char *after)
{
	strbuf_appendf(sql, "%s %s ", column, case_sensitive ? "LIKE" : "ILIKE");
	append_pattern(sql, before, value, case_sensitive, after);
}

/*
 * The needle as a regular expression (ARE) that matches exactly what KQL
 * matches: case-insensitive letters as classes of what folds to them (the
 * Kelvin sign and the long s are the only non-ASCII characters that fold
 * to ASCII letters), other ASCII punctuation escaped.
 */
static void append_needle_regex(struct strbuf *regex, const struct value *value,
				bool case_sensitive)
{
	for (size_t i = 0; i < value->len; i++) {
		unsigned char c = (unsigned char)value->str[i];
		unsigned char lower = (unsigned char)(c | 0x20);

		if (!case_sensitive && lower >= 'a' && lower <= 'z') {
			strbuf_appendf(regex, "[%c%c", lower, lower - 0x20);
			if (lower == 'k')
				strbuf_append_string(regex, "\xe2\x84\xaa"); /* Kelvin sign */
			if (lower == 's')
				strbuf_append_string(regex, "\xc5\xbf"); /* long s */
			strbuf_append_char(regex, ']');
			continue;
		}
		if (c < 0x80 && !(c >= '0' && c <= '9') && !(lower >= 'a' && lower <= 'z'))
			strbuf_append_char(regex, '\\');
		strbuf_append_char(regex, (char)c);
	}
}

/* Does the needle start (end) with a KQL term character? */
static bool term_at(const struct value *value, bool end)
{
	uint32_t code;

	if (value->len == 0)
		return false;
	if (end)
		unicode_decode_before((const unsigned char *)value->str, value->len, &code);
	else
		unicode_decode((const unsigned char *)value->str, value->len, &code);
	return kql_is_term_char(code);
}

/* AND column ~ the exact regular expression of the match. */
static void append_exact(struct strbuf *sql, const char *column, const struct kql_filter *node,
			 const struct value *value)
{
	enum kql_match match =
		node->kind == KQL_FILTER_IN ? KQL_MATCH_EQUALS : (enum kql_match)node->match;
	struct strbuf regex;

	strbuf_init(&regex);
	if (match == KQL_MATCH_STARTSWITH || match == KQL_MATCH_EQUALS)
		strbuf_append_char(&regex, '^');
	append_needle_regex(&regex, value, node->case_sensitive);
	if (match == KQL_MATCH_ENDSWITH || match == KQL_MATCH_EQUALS)
		strbuf_append_char(&regex, '$');
	strbuf_appendf(sql, " AND %s ~ (", column);
	if (match == KQL_MATCH_HAS && term_at(value, false))
		strbuf_append_string(sql, "'(^|[^' || rmmhunt_term_class() || '])' || ");
	append_literal(sql, regex.data ? regex.data : "", regex.length);
	if (match == KQL_MATCH_HAS && term_at(value, true))
		strbuf_append_string(sql, " || '($|[^' || rmmhunt_term_class() || '])'");
	strbuf_append_char(sql, ')');
	if (regex.failed)
		sql->failed = true;
	strbuf_free(&regex);
}

/* Does the LIKE of a match decide it alone (exactly)? */
static bool like_is_exact(const struct kql_filter *node)
{
	enum kql_match match = (enum kql_match)node->match;

	return node->case_sensitive && match != KQL_MATCH_HAS;
}

static bool append_match(struct strbuf *sql, const char *column, const struct kql_filter *node,
			 bool exact)
{
	const struct value *value = &node->values[0];
	bool sensitive = node->case_sensitive;
	enum kql_match match = (enum kql_match)node->match;

	if (!pushable(value, sensitive))
		return false;
	if (exact && (match == KQL_MATCH_HASPREFIX || match == KQL_MATCH_HASSUFFIX))
		return false;
	switch (match) {
	case KQL_MATCH_STARTSWITH:
		append_like(sql, column, "", value, sensitive, "%");
		break;
	case KQL_MATCH_ENDSWITH:
		append_like(sql, column, "%", value, sensitive, "");
		break;
	case KQL_MATCH_EQUALS:
		if (sensitive) {
			strbuf_appendf(sql, "%s = ", column);
			append_literal(sql, value->str, value->len);
		} else {
			append_like(sql, column, "", value, false, "");
		}
		break;
	case KQL_MATCH_HAS:
		append_like(sql, column, "%", value, sensitive, "%");
		if (!sensitive && !exact) {
			strbuf_appendf(sql, " AND rmmhunt_has(%s, ", column);
			append_literal(sql, value->str, value->len);
			strbuf_append_char(sql, ')');
		}
		break;
	default: /* contains, hasprefix, hassuffix: the text is in there */
		append_like(sql, column, "%", value, sensitive, "%");
		break;
	}
	if (exact && !like_is_exact(node))
		append_exact(sql, column, node, value);
	return true;
}

static bool append_in(struct strbuf *sql, const char *column, const struct kql_filter *node,
		      bool exact)
{
	if (node->value_count == 0 || node->value_count > MAX_IN_VALUES)
		return false;
	for (size_t i = 0; i < node->value_count; i++)
		if (!pushable(&node->values[i], node->case_sensitive))
			return false;
	if (node->case_sensitive)
		strbuf_appendf(sql, "%s IN (", column);
	else
		strbuf_append_char(sql, '(');
	for (size_t i = 0; i < node->value_count; i++) {
		if (i)
			strbuf_append_string(sql, node->case_sensitive ? ", " : " OR ");
		if (node->case_sensitive) {
			append_literal(sql, node->values[i].str, node->values[i].len);
			continue;
		}
		if (exact)
			strbuf_append_char(sql, '(');
		append_like(sql, column, "", &node->values[i], false, "");
		if (exact) {
			append_exact(sql, column, node, &node->values[i]);
			strbuf_append_char(sql, ')');
		}
	}
	strbuf_append_char(sql, ')');
	return true;
}

static bool append_equals(struct strbuf *sql, const char *column, const struct kql_filter *node)
{
	const struct value *value = &node->values[0];

	if (value->type == VALUE_STRING) {
		if (!pushable(value, true))
			return false;
		strbuf_appendf(sql, "%s = ", column);
		append_literal(sql, value->str, value->len);
	} else if (value->type == VALUE_BOOL) {
		strbuf_appendf(sql, "%s = %s", column, value->b ? "true" : "false");
	} else {
		strbuf_appendf(sql, "%s = %" PRId64, column, value->l);
	}
	return true;
}

bool postgres_append_filter(struct strbuf *sql, const struct table_schema *schema,
			    const struct kql_filter *nodes, size_t index, bool exact)
{
	const struct kql_filter *node = &nodes[index];
	size_t mark = sql->length;
	char column[80];
	bool done;

	if (node->kind == KQL_FILTER_AND || node->kind == KQL_FILTER_OR) {
		bool both = node->kind == KQL_FILTER_OR || exact;

		strbuf_append_char(sql, '(');
		bool left = postgres_append_filter(sql, schema, nodes, node->left, exact);

		if (left)
			strbuf_append_string(sql, node->kind == KQL_FILTER_OR ? " OR " : " AND ");
		size_t right_mark = sql->length;
		bool right = postgres_append_filter(sql, schema, nodes, node->right, exact);

		if ((both && !(left && right)) || (!left && !right)) {
			sql->length = mark;
			return false;
		}
		if (!right) /* an and without its right side: drop the " AND " */
			sql->length = right_mark - 5;
		strbuf_append_char(sql, ')');
		return true;
	}
	if (node->column >= schema->column_count)
		return false;
	snprintf(column, sizeof(column), "\"%s\"", schema->columns[node->column].name);
	if (node->kind == KQL_FILTER_MATCH)
		done = schema->columns[node->column].type == VALUE_STRING &&
		       append_match(sql, column, node, exact);
	else if (node->kind == KQL_FILTER_IN)
		done = schema->columns[node->column].type == VALUE_STRING &&
		       append_in(sql, column, node, exact);
	else
		done = append_equals(sql, column, node);
	if (!done)
		sql->length = mark;
	return done;
}

/* ---- planning ------------------------------------------------------------------------ */

static int schema_timestamp(const struct table_schema *schema)
{
	for (size_t i = 0; i < schema->column_count; i++)
		if (strcmp(schema->columns[i].name, "Timestamp") == 0)
			return (int)i;
	return -1;
}

/*
 * Does the range go through the Timestamp order, as the SQLite store would
 * read it?  (covered < span / 2 of the table's times, assumed uniform)
 */
int postgres_time_ordered(PGconn *connection, const struct table_schema *schema, int64_t low,
			int64_t high, bool *by_time)
{
	char sql[200];
	PGresult *result;

	snprintf(sql, sizeof(sql), "SELECT min(\"Timestamp\"), max(\"Timestamp\") FROM \"%s\"",
		 schema->name);
	result = PQexec(connection, sql);
	if (PQresultStatus(result) != PGRES_TUPLES_OK)
		return postgres_check(connection, result, "reading the time span");
	*by_time = false;
	if (!PQgetisnull(result, 0, 0) && !PQgetisnull(result, 0, 1)) {
		int64_t first = strtoll(PQgetvalue(result, 0, 0), NULL, 10);
		int64_t last = strtoll(PQgetvalue(result, 0, 1), NULL, 10);
		double span = (double)last - (double)first + 1;
		double covered = (double)(high < last ? high : last) -
				 (double)(low > first ? low : first) + 1;

		*by_time = covered < span / 2;
	}
	PQclear(result);
	return 0;
}

/* Empty strings and nulls for every column; the used ones selected. */
static int select_columns(struct postgres_scan *scan, const struct kql_query *query,
			  const struct table_schema *schema, struct strbuf *sql)
{
	bool *used = calloc(schema->column_count, sizeof(*used));
	int result;

	scan->row = calloc(schema->column_count, sizeof(*scan->row));
	scan->selected = calloc(schema->column_count, sizeof(*scan->selected));
	scan->dynamics = calloc(schema->column_count, sizeof(*scan->dynamics));
	if (!used || !scan->row || !scan->selected || !scan->dynamics) {
		free(used);
		return -ENOMEM;
	}
	result = kql_query_columns_used(query, schema->name, used, schema->column_count);
	strbuf_append_string(sql, "SELECT rowid");
	for (size_t i = 0; i < schema->column_count; i++) {
		scan->row[i].type = schema->columns[i].type;
		scan->row[i].is_null = schema->columns[i].type != VALUE_STRING;
		if (schema->columns[i].type == VALUE_STRING)
			scan->row[i].str = "";
		if (result == 0 && used[i]) {
			scan->selected[scan->selected_count++] = (int)i;
			strbuf_appendf(sql, ", \"%s\"", schema->columns[i].name);
		}
	}
	free(used);
	return 0;
}

/* The WHERE and ORDER BY of the table's SELECT; fills the plan's entry. */
static int append_conditions(struct postgres_scan *scan, const struct kql_query *query,
			     const struct table_schema *schema, int64_t now, struct strbuf *sql)
{
	struct kql_filter nodes[MAX_FILTER_NODES];
	const char *table = kql_query_table(query);
	bool main_table = table && strcmp(table, schema->name) == 0;
	int64_t low = INT64_MIN, high = INT64_MAX;
	bool ranged = false, by_time = false;
	bool filtered = false;
	int count = 0, status;

	strbuf_appendf(sql, " FROM \"%s\" WHERE true", schema->name);
	if (main_table && schema_timestamp(schema) >= 0 &&
	    kql_query_time_range(query, "Timestamp", now, &low, &high) == 0 &&
	    (low != INT64_MIN || high != INT64_MAX)) {
		ranged = true;
		if (low > high)
			strbuf_append_string(sql, " AND false");
		if (low != INT64_MIN)
			strbuf_appendf(sql, " AND \"Timestamp\" >= %" PRId64, low);
		if (high != INT64_MAX)
			strbuf_appendf(sql, " AND \"Timestamp\" <= %" PRId64, high);
	}
	if (main_table)
		count = kql_query_filter(query, nodes, MAX_FILTER_NODES);
	if (count > 0) {
		size_t mark = sql->length;

		strbuf_append_string(sql, " AND ");
		filtered = postgres_append_filter(sql, schema, nodes, 0, false);
		if (!filtered)
			sql->length = mark;
	}
	status = ranged ? postgres_time_ordered(scan->connection, schema, low, high, &by_time) : 0;
	strbuf_append_string(sql, by_time ? " ORDER BY \"Timestamp\", rowid" : " ORDER BY rowid");
	if (scan->plan) {
		json_object_set_new(scan->plan, "time_range_in_postgresql", json_boolean(ranged));
		json_object_set_new(scan->plan, "filters_in_postgresql", json_boolean(filtered));
	}
	return status;
}

/* ---- reading -------------------------------------------------------------------------- */

static void release_dynamics(struct postgres_scan *scan)
{
	for (size_t i = 0; scan->dynamics && i < scan->selected_count; i++) {
		json_decref(scan->dynamics[i]);
		scan->dynamics[i] = NULL;
	}
}

static void convert(struct postgres_scan *scan, size_t selected, int field)
{
	struct value *value = &scan->row[scan->selected[selected]];
	const char *text = PQgetvalue(scan->chunk, scan->chunk_row, field);
	size_t length = (size_t)PQgetlength(scan->chunk, scan->chunk_row, field);

	if (value->type == VALUE_STRING) {
		value->str = text;
		value->len = length;
		return;
	}
	value->is_null = PQgetisnull(scan->chunk, scan->chunk_row, field);
	if (value->is_null)
		return;
	switch (value->type) {
	case VALUE_BOOL:
		value->b = text[0] == 't';
		break;
	case VALUE_REAL:
		value->r = strtod(text, NULL);
		break;
	case VALUE_DYNAMIC:
		value->dyn = json_loadb(text, length, JSON_DECODE_ANY, NULL);
		value->is_null = value->dyn == NULL;
		scan->dynamics[selected] = value->dyn;
		break;
	default:
		value->l = strtoll(text, NULL, 10);
		break;
	}
}

int postgres_fetch(PGconn *connection, const char *cursor, int rows, PGresult **chunk,
		   int *chunk_rows, bool *finished, char *message, size_t message_size)
{
	char sql[80];

	PQclear(*chunk);
	snprintf(sql, sizeof(sql), "FETCH FORWARD %d FROM %s", rows, cursor);
	*chunk = PQexec(connection, sql);
	*chunk_rows = 0;
	*finished = true;
	if (PQresultStatus(*chunk) != PGRES_TUPLES_OK) {
		snprintf(message, message_size, "PostgreSQL: %s", PQresultErrorMessage(*chunk));
		return postgres_result_errno(connection, *chunk);
	}
	*chunk_rows = PQntuples(*chunk);
	*finished = *chunk_rows < rows;
	return 0;
}

static int scan_next(void *context, const struct value **row)
{
	struct postgres_scan *scan = context;

	release_dynamics(scan);
	if (scan->chunk_row >= scan->chunk_rows) {
		if (scan->finished)
			return 0;
		int status = postgres_fetch(scan->connection, scan->cursor, FETCH_ROWS, &scan->chunk,
					    &scan->chunk_rows, &scan->finished, scan->message,
					    sizeof(scan->message));

		scan->chunk_row = 0;
		if (status || scan->chunk_rows == 0)
			return status;
	}
	for (size_t i = 0; i < scan->selected_count; i++)
		convert(scan, i, 1 + (int)i);
	scan->chunk_row++;
	scan->rows_read++;
	*row = scan->row;
	return 1;
}

static const char *scan_error_message(void *context)
{
	struct postgres_scan *scan = context;

	return scan->message[0] ? scan->message : NULL;
}

static void close_scan(void *handle)
{
	struct postgres_scan *scan = handle;

	if (!scan)
		return;
	if (scan->plan)
		json_object_set_new(scan->plan, "rows_to_collector",
				    json_integer((json_int_t)scan->rows_read));
	release_dynamics(scan);
	PQclear(scan->chunk);
	free(scan->row);
	free(scan->selected);
	free(scan->dynamics);
	free(scan);
}

static int open_table(void *context, const struct kql_query *query,
		      const struct table_schema *schema, int64_t now, struct kql_source *source,
		      void **handle, char *message, size_t message_size)
{
	struct query_context *query_context = context;
	struct postgres_scan *scan = calloc(1, sizeof(*scan));
	struct strbuf sql;
	int status;

	if (!scan)
		return -ENOMEM;
	scan->connection = query_context->slot->connection;
	snprintf(scan->cursor, sizeof(scan->cursor), "rows_%d", query_context->cursors++);
	if (query_context->plan) {
		scan->plan = json_pack("{s:s, s:b, s:s}", "table", schema->name,
				       "summarize_in_postgresql", 0, "in_collector",
				       "the filters again on every row, and every operator");
		json_array_append_new(query_context->plan, scan->plan);
	}
	strbuf_init(&sql);
	strbuf_appendf(&sql, "DECLARE %s NO SCROLL CURSOR FOR ", scan->cursor);
	status = select_columns(scan, query, schema, &sql);
	if (status == 0)
		status = append_conditions(scan, query, schema, now, &sql);
	if (status == 0 && sql.failed)
		status = -ENOMEM;
	if (status == 0) {
		PGresult *result = PQexec(scan->connection, strbuf_text(&sql));

		if (PQresultStatus(result) != PGRES_COMMAND_OK)
			snprintf(scan->message, sizeof(scan->message), "PostgreSQL: %s",
				 PQresultErrorMessage(result));
		status = postgres_check(scan->connection, result, "declaring a cursor");
	}
	if (status == 0 && scan->plan)
		json_object_set_new(scan->plan, "sql_in_postgresql",
				    json_string(strbuf_text(&sql) + strlen("DECLARE ") +
						strlen(scan->cursor) +
						strlen(" NO SCROLL CURSOR FOR ")));
	strbuf_free(&sql);
	if (status) {
		snprintf(message, message_size, "%s",
			 scan->message[0] ? scan->message : strerror(-status));
		close_scan(scan);
		return status;
	}
	scan->source.schema = schema;
	scan->source.next = scan_next;
	scan->source.error_message = scan_error_message;
	scan->source.context = scan;
	*source = scan->source;
	*handle = scan;
	return 0;
}

int postgres_run_query(void *state, struct kql_query *query, const struct store_table *extra,
		       size_t extra_count, int64_t now, struct kql_table **result,
		       struct kql_error *error, json_t *plan)
{
	struct postgres_store *store = state;
	struct query_context context = {store, NULL, plan, 0};
	struct store_table tables[STORE_MAX_TABLES];
	size_t count = store_backend_tables(
		tables, (struct store_table){NULL, open_table, close_scan, &context}, extra,
		extra_count);
	int status;

	context.slot = postgres_take(store);
	status = postgres_execute(context.slot->connection,
				  "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	if (status) {
		memset(error, 0, sizeof(*error));
		error->kind = KQL_ERROR_RUNTIME;
		snprintf(error->message, sizeof(error->message), "PostgreSQL: %s",
			 PQerrorMessage(context.slot->connection));
		*result = NULL;
	} else {
		status = postgres_run_grouped(store, context.slot->connection, query, now, result,
					      error, plan);
		if (status == -EOPNOTSUPP)
			status = store_execute(tables, count, query, now, result, error);
		postgres_execute(context.slot->connection, "COMMIT");
	}
	postgres_give(store, context.slot);
	return status;
}
