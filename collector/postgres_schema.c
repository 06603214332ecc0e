/*
 * postgres_schema.c - the PostgreSQL store's schema and its versioned
 * migrations.
 *
 * schema_version holds one row per migration applied (version, when, what).
 * A collector brings the database to POSTGRES_SCHEMA_VERSION when it
 * opens it, each missing migration in its own transaction, under an
 * advisory lock so that collectors starting together migrate once; a
 * database newer than this collector is refused (it would not know the
 * tables).  A migration, once released, is never edited: a change is a new
 * one.
 *
 *   1  the tables: DeviceProcessEvents (partitioned by day on Timestamp,
 *      with a default partition for times outside the created days),
 *      RuleHits, RuleSummaries, SummaryVersions, Devices, CollectorMeta
 *   2  rmmhunt_has(): KQL's `has` (term semantics) for pushed-down filters
 *   3  rmmhunt_term_class(): KQL's term characters (Unicode letters and
 *      decimal digits) as the inside of a regular expression's bracket
 *      expression, for exact filters (summarize pushdown, postgres_query.c)
 *
 * Column names are the Kusto names (quoted), values kept as the SQLite
 * store keeps them: datetimes as bigint ticks, bools as boolean, strings
 * as text NOT NULL DEFAULT '', the summaries' Report as JSON text.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "base/unicode.h"
#include "kql/kql_ops.h"
#include "postgres.h"
#include "store/cache_schema.h"

/* Any constant both collectors agree on: the migration lock's key. */
#define MIGRATION_LOCK_KEY 0x726d6d68756e74LL /* "rmmhunt" */

static const char *column_type(enum value_type type)
{
	switch (type) {
	case VALUE_STRING:
		return "text NOT NULL DEFAULT ''";
	case VALUE_BOOL:
		return "boolean";
	case VALUE_REAL:
		return "double precision";
	case VALUE_DYNAMIC:
		return "text";
	default: /* long, datetime, timespan */
		return "bigint";
	}
}

static void append_columns(struct strbuf *sql, const struct column_def *columns, size_t count)
{
	for (size_t i = 0; i < count; i++)
		strbuf_appendf(sql, ",\n  \"%s\" %s", columns[i].name, column_type(columns[i].type));
}

/* Version 1: the tables. */
static void migration_1(struct strbuf *sql)
{
	const struct table_schema *summaries = store_summaries_schema();

	strbuf_append_string(sql, "CREATE SEQUENCE record_rowids;\n"
				  "CREATE TABLE \"DeviceProcessEvents\" (\n"
				  "  rowid bigint NOT NULL DEFAULT nextval('record_rowids')");
	append_columns(sql, dpe_columns, DPE_COLUMN_COUNT);
	strbuf_append_string(
		sql,
		") PARTITION BY RANGE (\"Timestamp\");\n"
		"CREATE TABLE \"DeviceProcessEvents_default\" PARTITION OF \"DeviceProcessEvents\""
		" DEFAULT;\n"
		/* PostgreSQL wants the partition key in a unique index: a retry
		 * carries the same record, so the same Timestamp */
		"CREATE UNIQUE INDEX \"DeviceProcessEvents_report\" ON \"DeviceProcessEvents\""
		" (\"DeviceId\", \"ReportId\", \"Timestamp\");\n"
		"CREATE INDEX \"DeviceProcessEvents_time\" ON \"DeviceProcessEvents\""
		" (\"Timestamp\", rowid);\n"
		"CREATE INDEX \"DeviceProcessEvents_rowid\" ON \"DeviceProcessEvents\" (rowid);\n"
		"CREATE TABLE \"RuleHits\" (\n  rowid bigserial PRIMARY KEY");
	append_columns(sql, cache_hit_columns, CACHE_HIT_COLUMN_COUNT);
	append_columns(sql, dpe_columns, DPE_COLUMN_COUNT);
	strbuf_append_string(sql, ");\n"
				  "CREATE UNIQUE INDEX \"RuleHits_report\" ON \"RuleHits\""
				  " (\"DeviceId\", \"RuleId\", \"ReportId\");\n"
				  "CREATE INDEX \"RuleHits_time\" ON \"RuleHits\" (\"Timestamp\", rowid);\n"
				  "CREATE TABLE \"RuleSummaries\" (\n  rowid bigserial PRIMARY KEY");
	append_columns(sql, summaries->columns, summaries->column_count);
	strbuf_append_string(
		sql,
		");\n"
		"CREATE INDEX \"RuleSummaries_rule\" ON \"RuleSummaries\" (\"DeviceId\", \"RuleId\");\n"
		"CREATE TABLE \"SummaryVersions\" (\"DeviceId\" text NOT NULL,"
		" \"RuleId\" text NOT NULL, \"Updated\" bigint NOT NULL,"
		" PRIMARY KEY (\"DeviceId\", \"RuleId\"));\n"
		"CREATE TABLE \"Devices\" (\n"
		"  \"DeviceId\" text PRIMARY KEY, \"DeviceName\" text NOT NULL DEFAULT '',\n"
		"  \"KeyHash\" bytea UNIQUE, \"Revoked\" boolean NOT NULL DEFAULT false,\n"
		"  \"Enrolled\" boolean NOT NULL DEFAULT false,\n"
		"  \"EnrolledAt\" bigint NOT NULL DEFAULT 0,\n"
		"  \"LastContact\" bigint NOT NULL DEFAULT 0,\n"
		"  \"LastHeartbeat\" bigint NOT NULL DEFAULT 0,\n"
		"  \"IntervalSeconds\" bigint NOT NULL DEFAULT 0,\n"
		"  \"AgentVersion\" text NOT NULL DEFAULT '',\n"
		"  \"PeerAddress\" text NOT NULL DEFAULT '',\n"
		"  \"Heartbeat\" text NOT NULL DEFAULT '',\n"
		"  \"Records\" bigint NOT NULL DEFAULT 0, \"Hits\" bigint NOT NULL DEFAULT 0);\n"
		"CREATE TABLE \"CollectorMeta\" (\"Key\" text PRIMARY KEY,"
		" \"Value\" bigint NOT NULL);\n");
}

/*
 * Version 2: KQL's has in SQL, for the filters fleet queries push down
 * (postgres_query.c).  rmmhunt_term_pattern(term) is a regular expression
 * (ARE) that finds term as KQL's has does: case-insensitively, bounded by
 * non-term characters on the sides where the term starts or ends with a
 * term character.  It is used for ASCII terms only; 'k' and 's' also
 * match the Kelvin sign and the long s, which fold to them.  Term
 * characters here are ASCII letters and digits (the database's C ctype):
 * fewer than KQL's Unicode letters and digits, so a boundary the engine
 * refuses may pass here, never the other way: the engine still decides on
 * every row PostgreSQL hands over.
 */
static void migration_2(struct strbuf *sql)
{
	strbuf_append_string(
		sql,
		"CREATE FUNCTION rmmhunt_term_pattern(term text) RETURNS text\n"
		"LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$\n"
		"  SELECT CASE WHEN term ~ '^[A-Za-z0-9]' THEN '(^|[^A-Za-z0-9])' ELSE '' END\n"
		"    || replace(replace(regexp_replace(lower(term), '([^a-z0-9])', '\\\\\\1', 'g'),\n"
		"         'k', '[kK' || chr(8490) || ']'), 's', '[sS' || chr(383) || ']')\n"
		"    || CASE WHEN term ~ '[A-Za-z0-9]$' THEN '($|[^A-Za-z0-9])' ELSE '' END\n"
		"$$;\n"
		"CREATE FUNCTION rmmhunt_has(haystack text, term text) RETURNS boolean\n"
		"LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$\n"
		"  SELECT haystack ~* rmmhunt_term_pattern(term)\n"
		"$$;\n");
}

void postgres_term_class(struct strbuf *out)
{
	uint32_t start = 0;
	bool open = false;

	for (uint32_t code = 0; code <= 0x110000; code++) {
		bool term = code < 0x110000 && (code < 0xd800 || code > 0xdfff) &&
			    kql_is_term_char(code);
		char bytes[4];

		if (term && !open) {
			start = code;
			open = true;
		} else if (!term && open) {
			strbuf_append(out, bytes, unicode_encode(start, bytes));
			if (code - 1 != start) {
				strbuf_append_char(out, '-');
				strbuf_append(out, bytes, unicode_encode(code - 1, bytes));
			}
			open = false;
		}
	}
}

/*
 * Version 3: the term characters of the engine that made the database,
 * for exact has: '(^|[^' || rmmhunt_term_class() || '])' before a term
 * that starts with one.  A collector whose engine has other term
 * characters (a newer Unicode) does not push filters down as exact
 * (postgres_open) until a migration brings the function up to date.
 */
static void migration_3(struct strbuf *sql)
{
	strbuf_append_string(sql, "CREATE FUNCTION rmmhunt_term_class() RETURNS text\n"
				  "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT '");
	postgres_term_class(sql);
	strbuf_append_string(sql, "'::text $$;\n");
}

struct migration {
	int version;
	const char *description;
	void (*sql)(struct strbuf *sql);
};

static const struct migration migrations[] = {
	{1, "tables: records partitioned by day, hits, summaries, devices", migration_1},
	{2, "rmmhunt_has(): KQL has for pushed-down filters", migration_2},
	{3, "rmmhunt_term_class(): KQL term characters for exact filters", migration_3},
};

/* The version the database is at: 0 when it has no schema_version. */
static int read_version(PGconn *connection, int *version)
{
	PGresult *result = PQexec(connection, "SELECT to_regclass('schema_version') IS NOT NULL");
	int status = PQresultStatus(result) == PGRES_TUPLES_OK ? 0 : postgres_result_errno(connection, result);
	bool exists = status == 0 && PQgetvalue(result, 0, 0)[0] == 't';

	PQclear(result);
	*version = 0;
	if (status || !exists)
		return status;
	result = PQexec(connection, "SELECT coalesce(max(version), 0) FROM schema_version");
	status = PQresultStatus(result) == PGRES_TUPLES_OK ? 0 : postgres_result_errno(connection, result);
	if (status == 0)
		*version = atoi(PQgetvalue(result, 0, 0));
	PQclear(result);
	return status;
}

static int apply(PGconn *connection, const struct migration *migration)
{
	struct strbuf sql;
	int status;

	strbuf_init(&sql);
	strbuf_append_string(&sql, "BEGIN;\n");
	if (migration->version == 1)
		strbuf_append_string(&sql, "CREATE TABLE schema_version (version integer PRIMARY KEY,"
					   " applied_at timestamptz NOT NULL DEFAULT now(),"
					   " description text NOT NULL);\n");
	migration->sql(&sql);
	strbuf_appendf(&sql, "INSERT INTO schema_version (version, description) VALUES (%d, '%s');\n"
			     "COMMIT;\n",
		       migration->version, migration->description);
	status = sql.failed ? -ENOMEM : postgres_execute(connection, strbuf_text(&sql));
	strbuf_free(&sql);
	if (status)
		postgres_execute(connection, "ROLLBACK");
	else
		log_info("PostgreSQL store: schema migrated to version %d (%s)", migration->version,
			 migration->description);
	return status;
}

static int migrate_locked(PGconn *connection, char *message, size_t message_size)
{
	int version, status = read_version(connection, &version);

	if (status) {
		snprintf(message, message_size, "cannot read the schema version: %s",
			 PQerrorMessage(connection));
		return status;
	}
	if (version > POSTGRES_SCHEMA_VERSION) {
		snprintf(message, message_size,
			 "the database has rmmhunt schema version %d; this collector knows up to %d"
			 " (upgrade the collector)",
			 version, POSTGRES_SCHEMA_VERSION);
		return -EILSEQ;
	}
	for (size_t i = 0; i < sizeof(migrations) / sizeof(migrations[0]) && status == 0; i++) {
		if (migrations[i].version <= version)
			continue;
		status = apply(connection, &migrations[i]);
		if (status)
			snprintf(message, message_size, "migration to schema version %d failed: %s",
				 migrations[i].version, PQerrorMessage(connection));
	}
	return status;
}

int postgres_migrate(PGconn *connection, char *message, size_t message_size)
{
	char sql[96];
	int status;

	snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock(%lld)", MIGRATION_LOCK_KEY);
	status = postgres_execute(connection, sql);
	if (status) {
		snprintf(message, message_size, "cannot take the migration lock: %s",
			 PQerrorMessage(connection));
		return status;
	}
	status = migrate_locked(connection, message, message_size);
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%lld)", MIGRATION_LOCK_KEY);
	postgres_execute(connection, sql);
	return status;
}
