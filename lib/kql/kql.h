/*
 * kql.h - the KQL (Kusto Query Language) engine: compile a query once, run it
 * over rows many times.
 *
 * Users: `rmmhunt query` and `rmmhunt rules test` (compile, execute over a row
 * source, print the result table), the agent (match every record against
 * each rule's row filters, keep each rule's summarize incrementally), and the
 * local cache (push time ranges and column lists down to SQL).
 *
 * The language and every semantic choice are described in docs/rules.md,
 * section "KQL supported by rmmhunt".  Values are struct value (value.h);
 * datetimes are 100 ns ticks since the Unix epoch.
 *
 * A compiled query is immutable except for the small scratch state used by
 * kql_query_row_matches(): use one compiled query from one thread at a time.
 */
#ifndef RMMHUNT_KQL_H
#define RMMHUNT_KQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/schema.h"
#include "model/value.h"

/* ---- errors ------------------------------------------------------------ */

enum kql_error_kind {
	KQL_ERROR_NONE = 0,
	KQL_ERROR_SYNTAX,	     /* not KQL: the text does not parse */
	KQL_ERROR_NAME,		     /* unknown column, function, table or let name */
	KQL_ERROR_TYPE,		     /* wrong argument or operand type */
	KQL_ERROR_UNSUPPORTED_TABLE, /* a known table the caller does not fill */
	KQL_ERROR_UNSUPPORTED,	     /* valid KQL that rmmhunt does not implement */
	KQL_ERROR_RUNTIME,	     /* a row source failed, or a limit was hit */
	KQL_ERROR_NOMEM,
};

struct kql_error {
	enum kql_error_kind kind;
	size_t offset;	 /* byte offset into the query text */
	unsigned line;	 /* 1-based; 0 when the error has no position */
	unsigned column; /* 1-based, in characters (UTF-8 code points) */
	char message[320]; /* what was expected and what was found */
};

const char *kql_error_kind_name(enum kql_error_kind kind);

/*
 * "ORIGIN:LINE:COLUMN: KIND: MESSAGE", then the source line and a caret
 * under the spot (tabs kept so the caret lines up).  origin may be NULL
 * ("query").  The source line is found through error->offset, so a caller
 * may shift error->line/column (a query inside a YAML file) before calling.
 * Returns a malloc'd string, NULL when out of memory.
 */
char *kql_error_format(const struct kql_error *error, const char *text, size_t length,
		       const char *origin);

/* ---- compiling ------------------------------------------------------------ */

struct kql_query;

/*
 * Compiles text (let statements, comments, one tabular expression) against
 * the tables the caller fills (tables[i]->name is the table's name).  Checks
 * everything that can be checked before rows exist: syntax first (for the
 * whole text), then names and types in source order.  A query on a known
 * Microsoft Defender/Sentinel table that is not in tables fails with
 * KQL_ERROR_UNSUPPORTED_TABLE at the table's name.
 * Returns 0, or a negative errno with *error filled (-EINVAL for a query
 * error, -ENOMEM).
 */
int kql_compile(const char *text, size_t length, const struct table_schema *const *tables,
		size_t table_count, struct kql_query **query, struct kql_error *error);
void kql_query_free(struct kql_query *query);

/*
 * Is name a Microsoft Defender / Sentinel table rmmhunt knows of (whether or
 * not a caller fills it)?  DeviceProcessEvents, DeviceNetworkEvents,
 * DeviceFileCertificateInfo, ...
 */
bool kql_known_table(const char *name);

/* Name of the table the query's final expression reads (NULL: datatable). */
const char *kql_query_table(const struct kql_query *query);

/* Columns of the query's result, as compiled. */
size_t kql_query_column_count(const struct kql_query *query);
const char *kql_query_column_name(const struct kql_query *query, size_t column);
enum value_type kql_query_column_type(const struct kql_query *query, size_t column);

/* ---- row sources and results ---------------------------------------------- */

/*
 * A pull interface over rows of one table.  next() returns 1 and points *row
 * at schema->column_count values in schema order (valid until the next
 * call), 0 at the end, or a negative errno; error_message (optional) then
 * says what went wrong.
 */
struct kql_source {
	const struct table_schema *schema;
	int (*next)(void *context, const struct value **row);
	const char *(*error_message)(void *context);
	void *context;
};

struct kql_table;

size_t kql_table_column_count(const struct kql_table *table);
const char *kql_table_column_name(const struct kql_table *table, size_t column);
enum value_type kql_table_column_type(const struct kql_table *table, size_t column);
size_t kql_table_row_count(const struct kql_table *table);
/* column_count values of row (strings owned by the table). */
const struct value *kql_table_row(const struct kql_table *table, size_t row);
void kql_table_free(struct kql_table *table);

/*
 * Runs query once with now() = now over sources (matched to the query's
 * tables by schema name; a table read twice is buffered in memory).
 * Returns 0 with *result, or a negative errno with *error.
 */
int kql_execute(struct kql_query *query, const struct kql_source *sources, size_t source_count,
		int64_t now, struct kql_table **result, struct kql_error *error);

/* ---- the agent: per-record matching --------------------------------------- */

/*
 * True when the query's streaming prefix (the where/extend/project/parse
 * operators before the first summarize, distinct, sort, take, top, count,
 * join, union or mv-expand) depends only on the row, now() and constants,
 * and no later operator reads a table (a join or union with
 * DeviceProcessEvents, a subquery): then a row's fate is decided by the row.
 * Only then can kql_query_row_matches() and the aggregator be used.  An
 * mv-expand right after the prefix, and the where/extend after it, are
 * applied to the row too: it matches when something of it is left.
 */
bool kql_query_row_only(const struct kql_query *query);

/*
 * Does row (the query table's columns in schema order) pass the streaming
 * prefix at now()?  1 yes, 0 no, -EINVAL when the query is not row-only,
 * -ENOMEM.  Allocates nothing in the steady state.  A where-only prefix is
 * checked as time ranges (computed once per now) then the other conjuncts,
 * cheapest first.  A new now re-evaluates the query's now()-based constants
 * (a few hundred ns); records handled together may share one now.
 */
int kql_query_row_matches(struct kql_query *query, const struct value *row, int64_t now);

/* ---- the agent: incremental summarize -------------------------------------- */

/*
 * Keeps, for a row-only query, what is needed to hand out at any moment T
 * exactly the table the whole query would return at now() = T over every
 * row added so far.
 *
 * The where conjuncts of the prefix that depend on now() must bound one
 * datetime column of the table (Timestamp between (now(-5d)..now()),
 * Timestamp > ago(1h), ...): that column is the window column.  Rows that
 * pass the other filters are kept as partial aggregates of the query's first
 * summarize, one per (group key, window column value); a query whose first
 * blocking operator is not summarize keeps the filtered rows themselves.
 * The result at T merges the partials whose time lies in the window at T,
 * then runs the rest of the query.  Partials older than the window's lower
 * bound at the latest now seen are freed.  Memory is capped: past max_bytes
 * the oldest partials are evicted and their rows counted as dropped.
 */
struct kql_aggregator;

struct kql_aggregator_stats {
	uint64_t rows_added;   /* rows that passed the filters */
	uint64_t rows_dropped; /* rows lost to the memory cap */
	uint64_t rows_expired; /* rows that aged out of the window */
	size_t partials;       /* partial aggregates held */
	size_t bytes;	       /* memory they hold (estimate) */
};

/* max_bytes 0: 64 MiB.  -EINVAL with *error when the query cannot be kept. */
int kql_aggregator_new(struct kql_query *query, size_t max_bytes,
		       struct kql_aggregator **aggregator, struct kql_error *error);
/*
 * Adds one row (the table's columns in schema order) seen at now.  *matched
 * (may be NULL) is set as kql_query_row_matches(query, row, now) would set
 * it, so the agent evaluates each rule once per record.  Returns 0 or a
 * negative errno.
 */
int kql_aggregator_add(struct kql_aggregator *aggregator, const struct value *row, int64_t now,
		       bool *matched);
/* The query's result table at now() = now. */
int kql_aggregator_result(struct kql_aggregator *aggregator, int64_t now,
			  struct kql_table **result, struct kql_error *error);
void kql_aggregator_stats(const struct kql_aggregator *aggregator,
			  struct kql_aggregator_stats *stats);
void kql_aggregator_free(struct kql_aggregator *aggregator);

/* ---- the cache: pushdown ----------------------------------------------- */

/*
 * The inclusive range [*low, *high] of table column `column` outside which
 * no row can change the result at now (INT64_MIN/INT64_MAX when a side is
 * open), from the where conjuncts of the streaming prefix.  Returns 0, or
 * -ENOENT when the query puts no bound on that column (or reads the table
 * more than once).
 */
int kql_query_time_range(const struct kql_query *query, const char *column, int64_t now,
			 int64_t *low, int64_t *high);

/*
 * Text every row of the query's table must contain to pass the streaming
 * prefix, from its where conjuncts of the form `column OP 'text'` where OP
 * is has, hasprefix, hassuffix, contains, startswith, endswith, == or =~
 * (and their _cs forms; not the negated ones): a necessary condition a row
 * source may check before the engine sees a row (the engine still decides).
 * Case-insensitive terms match by the engine's folding (kql_ops.h).  Fills
 * at most capacity terms (text points into the query); returns how many,
 * or -ENOENT when the query reads the table more than once or not at all.
 */
struct kql_required_term {
	size_t column; /* of the table's schema */
	const char *text;
	size_t length;
	bool case_sensitive;
};

int kql_query_required_terms(const struct kql_query *query, struct kql_required_term *terms,
			     size_t capacity);

/*
 * The row filters of the streaming prefix as a tree a store can translate
 * to its own query language (the collector's PostgreSQL store): a necessary
 * condition every row that passes the prefix meets, built from the where
 * predicates' conjuncts of these forms over columns passed through from the
 * table (negated forms are left out):
 *
 *   KQL_FILTER_MATCH   column has/contains/startswith/... 'text' (_cs or not)
 *   KQL_FILTER_IN      column in (...) / in~ (...) with constant strings
 *   KQL_FILTER_EQUALS  column == constant (a string, long or bool)
 *   KQL_FILTER_AND, KQL_FILTER_OR of the above
 *
 * A conjunct of another form is left out of an and; an or with such a
 * branch is left out whole: the tree only ever lets more rows through than
 * the query, and the engine still decides on every row it is given.  in~
 * values are the engine's folded (lower case) strings.  Fills at most
 * capacity nodes, nodes[0] the root (the and of the where clauses); the
 * constants point into the query.  Returns the node count, 0 when nothing
 * can be said, -ENOENT when the query reads the table more than once or
 * not at all.
 */
enum kql_filter_kind {
	KQL_FILTER_AND,
	KQL_FILTER_OR,
	KQL_FILTER_MATCH,
	KQL_FILTER_IN,
	KQL_FILTER_EQUALS,
};

struct kql_filter {
	enum kql_filter_kind kind;
	size_t left, right;    /* and, or: node indexes */
	size_t column;	       /* of the table's schema */
	int match;	       /* KQL_FILTER_MATCH: enum kql_match (kql_ops.h) */
	bool case_sensitive;   /* match; in (false: in~) */
	const struct value *values; /* the needle, the set's members, the == value */
	size_t value_count;
};

int kql_query_filter(const struct kql_query *query, struct kql_filter *nodes, size_t capacity);

/*
 * Summarize pushdown (the collector's PostgreSQL store): when the query's
 * main pipeline reads its table once (and no subquery reads a table), runs
 * where clauses only, then a summarize whose keys are table columns (not
 * real, not dynamic) and whose aggregates are among these, over table
 * columns:
 *
 *   KQL_GROUPED_COUNT      count(): long
 *   KQL_GROUPED_MIN, _MAX  min/max of a string (bytewise), long, datetime or
 *                          timespan column; nulls ignored; the column's type
 *                          (no value: null, an empty string for strings)
 *   KQL_GROUPED_SUM        sum of a long or timespan column, wrapping at
 *                          64 bits; null when there is no non-null value
 *   KQL_GROUPED_DCOUNT     the exact number of distinct non-null values: long
 *   KQL_GROUPED_MAKE_SET   of a string or long column: a dynamic array of
 *                          the distinct non-null values in first-seen order,
 *                          the first cap of them
 *   KQL_GROUPED_MAKE_LIST  the same, every non-null value in input order
 *
 * (the count operator counts as summarize count()), then a store may
 * compute that summarize itself and hand the engine its
 * groups: kql_query_summarize_pushdown() says so (0) and fills pushdown
 * and nodes; -EOPNOTSUPP when the query is not of that form.  The rows that
 * reach the summarize are then exactly those whose time_column lies in
 * kql_query_time_range(query, time_column, now, ...) (when that returns 0)
 * and that meet the filter tree nodes[0..filter_count) (when filter_count >
 * 0; as kql_query_filter() describes it, but exact: nothing left out).  A
 * store that cannot translate every node exactly must not push down.
 *
 * kql_query_execute_grouped() then runs the rest of the query (the
 * operators after the summarize) over the groups: each row holds the key
 * values then the aggregate values, in pushdown order and the types above,
 * groups in the order of their first row in the table's read order (the
 * order the store would hand rows to kql_execute); without keys exactly
 * one row, also for no rows (counts 0, make_set/make_list []).
 * groups->schema names the table in error messages only.
 */
enum kql_grouped_kind {
	KQL_GROUPED_COUNT,
	KQL_GROUPED_MIN,
	KQL_GROUPED_MAX,
	KQL_GROUPED_SUM,
	KQL_GROUPED_DCOUNT,
	KQL_GROUPED_MAKE_SET,
	KQL_GROUPED_MAKE_LIST,
};

struct kql_grouped_aggregate {
	enum kql_grouped_kind kind;
	size_t column; /* of the table's schema (count(): 0, unused) */
	int64_t cap;   /* make_set, make_list */
};

#define KQL_GROUPED_MAX_KEYS 16
#define KQL_GROUPED_MAX_AGGREGATES 32

struct kql_summarize_pushdown {
	size_t keys[KQL_GROUPED_MAX_KEYS]; /* columns of the table's schema */
	size_t key_count;
	struct kql_grouped_aggregate aggregates[KQL_GROUPED_MAX_AGGREGATES];
	size_t aggregate_count;
	size_t filter_count; /* nodes filled (0: no filter but the time range) */
};

int kql_query_summarize_pushdown(const struct kql_query *query, const char *time_column,
				 struct kql_filter *nodes, size_t capacity,
				 struct kql_summarize_pushdown *pushdown);
int kql_query_execute_grouped(struct kql_query *query, const struct kql_source *groups,
			      int64_t now, struct kql_table **result, struct kql_error *error);

/*
 * Sets used[i] for each column i of table (column_count = its schema's
 * count) that the query reads or returns.  Returns 0, -ENOENT when the
 * query does not read that table.
 */
int kql_query_columns_used(const struct kql_query *query, const char *table, bool *used,
			   size_t column_count);

#endif
