/*
 * store_postgres.c - the collector's store in PostgreSQL (--db
 * postgresql://...): the backend of store.h for fleets that run several
 * stateless collectors over one database.
 *
 * Tables: postgres_schema.c.  Writes:
 *
 *   a batch     one transaction on one connection: its records and hits
 *               COPY'd (binary format) straight into the tables under a
 *               savepoint; when the unique index finds one already stored,
 *               into session staging tables instead, then INSERT ... SELECT
 *               ... ON CONFLICT DO NOTHING (a retry through any collector
 *               stores nothing twice); each summary replaces
 *               the stored one only when its upsert of SummaryVersions wins
 *               (the row lock orders two collectors writing for the same
 *               device and rule); the device's counters are added in SQL.
 *   partitions  DeviceProcessEvents has one partition per day; the days a
 *               batch needs are created before its transaction (under an
 *               advisory lock, moving any rows of that day out of the default
 *               partition); days far from now go to the default partition.
 *   retention   drops whole day partitions older than --retention-max-age (or
 *               the oldest while the records are over --retention-max-size);
 *               old rows of the default partition, hits and summaries are
 *               deleted in chunks.
 *
 * A lost connection is reset when it is next taken; while the server is
 * unreachable operations fail with -EBUSY (503 and Retry-After to agents,
 * which keep their records).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/array.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "model/value.h"
#include "postgres.h"
#include "store/cache_schema.h"

#define PARTITION_LOCK_KEY 0x726d6d7061727473LL /* "rmmparts" */
#define PARTITION_DAYS_AHEAD 2			/* days after now that get a partition */
#define EXTRA_CONNECTIONS 2			/* beyond options->readers */

/* ---- errors and connections ------------------------------------------------ */

int postgres_result_errno(PGconn *connection, const PGresult *result)
{
	const char *state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(connection) != CONNECTION_OK)
		return -EBUSY;
	if (!state)
		return result ? -EIO : -ENOMEM;
	/* 40001 serialization, 40P01 deadlock, 55P03 lock, 08 connection, 53 resources, 57P0x shutdown */
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0 || strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "53", 2) == 0 || strncmp(state, "57P0", 4) == 0)
		return -EBUSY;
	if (strncmp(state, "22", 2) == 0) /* data exception */
		return -EINVAL;
	return -EIO;
}

int postgres_check(PGconn *connection, PGresult *result, const char *what)
{
	ExecStatusType status = PQresultStatus(result);
	int error = 0;

	if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_COPY_IN) {
		error = postgres_result_errno(connection, result);
		log_warning("PostgreSQL store: %s: %s", what,
			    result ? PQresultErrorMessage(result) : PQerrorMessage(connection));
	}
	PQclear(result);
	return error;
}

int postgres_execute(PGconn *connection, const char *sql)
{
	PGresult *result = PQexec(connection, sql);
	ExecStatusType status = PQresultStatus(result);
	int error = 0;

	if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
		error = postgres_result_errno(connection, result);
		log_debug("PostgreSQL store: %.60s...: %s", sql,
			  result ? PQresultErrorMessage(result) : PQerrorMessage(connection));
	}
	PQclear(result);
	return error;
}

static PGconn *connect_to(const char *location)
{
	const char *const keys[] = {"dbname", "application_name", NULL};
	const char *const values[] = {location, "rmmhunt-collector", NULL};

	return PQconnectdbParams(keys, values, 1);
}

/* The session settings every connection has. */
static int configure(PGconn *connection)
{
	return postgres_execute(connection, "SET client_encoding = 'UTF8';"
					    " SET standard_conforming_strings = on;"
					    " SET lock_timeout = '10s'; SET TimeZone = 'UTC'");
}

struct postgres_connection *postgres_take(struct postgres_store *store)
{
	struct postgres_connection *taken = (struct postgres_connection *)pool_take(&store->pool);

	if (PQstatus(taken->connection) != CONNECTION_OK) {
		PQreset(taken->connection);
		taken->staging_ready = false;
		if (PQstatus(taken->connection) == CONNECTION_OK)
			configure(taken->connection);
	}
	return taken;
}

void postgres_give(struct postgres_store *store, struct postgres_connection *connection)
{
	/* a connection is always given back outside a transaction */
	if (PQtransactionStatus(connection->connection) != PQTRANS_IDLE &&
	    PQstatus(connection->connection) == CONNECTION_OK)
		postgres_execute(connection->connection, "ROLLBACK");
	pool_give(&store->pool, &connection->item);
}

/* ---- opening ------------------------------------------------------------------ */

/* The URL with any password replaced, for messages. */
static char *displayable(const char *location)
{
	const char *scheme_end = strstr(location, "://");
	const char *at = scheme_end ? strchr(scheme_end + 3, '@') : NULL;
	const char *colon = at ? memchr(scheme_end + 3, ':', (size_t)(at - scheme_end - 3)) : NULL;
	struct strbuf text;

	if (!colon)
		return strdup(location);
	strbuf_init(&text);
	strbuf_append(&text, location, (size_t)(colon - location));
	strbuf_append_string(&text, ":***");
	strbuf_append_string(&text, at);
	if (text.failed) {
		strbuf_free(&text);
		return NULL;
	}
	return text.data; /* the buffer's memory becomes the caller's */
}

static void postgres_close(void *state)
{
	struct postgres_store *store = state;

	if (!store)
		return;
	for (size_t i = 0; store->connections && i < store->connection_count; i++)
		PQfinish(store->connections[i].connection);
	free(store->connections);
	free(store->partition_days);
	pool_destroy(&store->pool);
	pthread_mutex_destroy(&store->partitions_lock);
	free(store->location);
	free(store->display);
	free(store);
}

static int open_connection(struct postgres_store *store, struct postgres_connection *slot,
			   char *message, size_t message_size)
{
	const char *encoding;

	slot->connection = connect_to(store->location);
	if (!slot->connection)
		return -ENOMEM;
	if (PQstatus(slot->connection) != CONNECTION_OK) {
		snprintf(message, message_size, "cannot connect to %s: %s", store->display,
			 PQerrorMessage(slot->connection));
		return -ECONNREFUSED;
	}
	encoding = PQparameterStatus(slot->connection, "server_encoding");
	if (!encoding || strcmp(encoding, "UTF8") != 0) {
		snprintf(message, message_size,
			 "%s: the database's encoding is %s; rmmhunt needs UTF8 (createdb -E UTF8)",
			 store->display, encoding ? encoding : "unknown");
		return -EINVAL;
	}
	if (configure(slot->connection) != 0) {
		snprintf(message, message_size, "cannot set up a session on %s: %s", store->display,
			 PQerrorMessage(slot->connection));
		return -EIO;
	}
	return 0;
}

static int open_pool(struct postgres_store *store, char *message, size_t message_size)
{
	store->connection_count = (size_t)store->options.readers + EXTRA_CONNECTIONS;
	store->connections = calloc(store->connection_count, sizeof(*store->connections));
	if (!store->connections)
		return -ENOMEM;
	for (size_t i = 0; i < store->connection_count; i++) {
		int result = open_connection(store, &store->connections[i], message, message_size);

		if (result)
			return result;
		pool_give(&store->pool, &store->connections[i].item);
	}
	return 0;
}

/*
 * Can filters be written exactly here (postgres.h, exact_filters)?  Only a
 * necessary condition otherwise: the engine then decides on every row.
 */
static void check_exact_filters(struct postgres_store *store, PGconn *connection)
{
	struct strbuf sql;
	PGresult *result;

	strbuf_init(&sql);
	strbuf_append_string(&sql, "SELECT rmmhunt_term_class() = '");
	postgres_term_class(&sql);
	strbuf_append_string(&sql, "' AND (SELECT bool_and(chr(c) ILIKE chr(c + 32)"
				   " AND chr(c + 32) ILIKE chr(c)) FROM generate_series(65, 90) c)");
	result = sql.failed ? NULL : PQexec(connection, strbuf_text(&sql));
	store->exact_filters = PQresultStatus(result) == PGRES_TUPLES_OK &&
			       PQgetvalue(result, 0, 0)[0] == 't';
	if (!store->exact_filters)
		log_warning("PostgreSQL store: the database's term characters or case rules are not"
			    " the KQL engine's: summarize runs in the collector");
	PQclear(result);
	strbuf_free(&sql);
}

static int postgres_open(const char *location, const struct store_options *options, void **state,
			 char *message, size_t message_size)
{
	struct postgres_store *store = calloc(1, sizeof(*store));
	int result;

	if (!store)
		return -ENOMEM;
	store->options = *options;
	if (store->options.readers < 1)
		store->options.readers = 1;
	pool_init(&store->pool);
	pthread_mutex_init(&store->partitions_lock, NULL);
	store->location = strdup(location);
	store->display = displayable(location);
	result = store->location && store->display ? open_pool(store, message, message_size)
						   : -ENOMEM;
	if (result == 0)
		result = postgres_migrate(store->connections[0].connection, message, message_size);
	if (result == 0)
		check_exact_filters(store, store->connections[0].connection);
	if (result) {
		if (result == -ENOMEM)
			snprintf(message, message_size, "out of memory opening %s", location);
		postgres_close(store);
		return result;
	}
	*state = store;
	return 0;
}

/* ---- values in COPY's binary format ------------------------------------------- */

/*
 * Rows go to PostgreSQL in COPY's binary format (a signature and header,
 * then per row a 16-bit field count and per field a 32-bit length, -1 for
 * NULL, and the value as its type's send function writes it: text as its
 * bytes, bigint and double precision as 8 bytes, boolean as 1, all
 * big-endian).  The server then copies each field instead of scanning 3 to
 * 4 KB of text a record for delimiters and escapes and parsing numbers;
 * text still passes PostgreSQL's UTF-8 check, as in text COPY.
 */
static const char copy_signature[] = "PGCOPY\n\377\r\n";

static void copy_big_endian(struct strbuf *out, uint64_t number, size_t bytes)
{
	char buffer[8];

	for (size_t i = 0; i < bytes; i++)
		buffer[i] = (char)(number >> (8 * (bytes - 1 - i)));
	strbuf_append(out, buffer, bytes);
}

static void copy_start(struct strbuf *out)
{
	strbuf_append(out, copy_signature, sizeof(copy_signature)); /* with its final NUL */
	copy_big_endian(out, 0, 4); /* flags: no OIDs */
	copy_big_endian(out, 0, 4); /* no header extension */
}

static void copy_end(struct strbuf *out)
{
	copy_big_endian(out, 0xffff, 2);
}

static void copy_row_start(struct strbuf *out, size_t field_count)
{
	copy_big_endian(out, field_count, 2);
}

static void copy_text(struct strbuf *out, const char *text, size_t length)
{
	copy_big_endian(out, length, 4);
	strbuf_append(out, text, length);
}

static void copy_value(struct strbuf *out, const struct value *value)
{
	uint64_t bits;

	if (value->type == VALUE_STRING) {
		copy_text(out, value->str, value->len);
		return;
	}
	if (value->is_null || value->type == VALUE_DYNAMIC) { /* records have no dynamic column */
		copy_big_endian(out, 0xffffffff, 4);
		return;
	}
	switch (value->type) {
	case VALUE_BOOL:
		copy_big_endian(out, 1, 4);
		copy_big_endian(out, value->b ? 1 : 0, 1);
		break;
	case VALUE_REAL:
		memcpy(&bits, &value->r, sizeof(bits));
		copy_big_endian(out, 8, 4);
		copy_big_endian(out, bits, 8);
		break;
	default: /* long, datetime, timespan: bigint */
		copy_big_endian(out, 8, 4);
		copy_big_endian(out, (uint64_t)value->l, 8);
		break;
	}
}

static void copy_values(struct strbuf *out, const struct value *values, size_t count)
{
	for (size_t i = 0; i < count; i++)
		copy_value(out, &values[i]);
}

/* ---- partitions ------------------------------------------------------------------ */

int64_t postgres_day_of(int64_t ticks)
{
	int64_t day = ticks / TICKS_PER_DAY;

	return ticks < 0 && ticks % TICKS_PER_DAY ? day - 1 : day;
}

static bool partition_known(struct postgres_store *store, int64_t day)
{
	for (size_t i = 0; i < store->partition_day_count; i++)
		if (store->partition_days[i] == day)
			return true;
	return false;
}

static int remember_partition(struct postgres_store *store, int64_t day)
{
	int64_t *days = array_reserve(store->partition_days, &store->partition_day_capacity,
				      store->partition_day_count + 1, 16, sizeof(*days));

	if (!days)
		return -ENOMEM;
	store->partition_days = days;
	days[store->partition_day_count++] = day;
	return 0;
}

/*
 * Creates the partition of day (a no-op when another collector made it):
 * rows of that day in the default partition move into it first, so that
 * attaching it never fails.
 */
static int create_partition(PGconn *connection, int64_t day)
{
	char sql[1400];
	int64_t low = day * TICKS_PER_DAY, high = low + TICKS_PER_DAY;
	int status;

	snprintf(sql, sizeof(sql),
		 "BEGIN; SELECT pg_advisory_xact_lock(%lld);"
		 " DO $$ BEGIN IF to_regclass('\"DeviceProcessEvents_d%" PRId64 "\"') IS NULL THEN"
		 " CREATE TABLE \"DeviceProcessEvents_d%" PRId64 "\""
		 " (LIKE \"DeviceProcessEvents\" INCLUDING DEFAULTS);"
		 " INSERT INTO \"DeviceProcessEvents_d%" PRId64 "\" SELECT * FROM"
		 " \"DeviceProcessEvents_default\" WHERE \"Timestamp\" >= %" PRId64
		 " AND \"Timestamp\" < %" PRId64 ";"
		 " DELETE FROM \"DeviceProcessEvents_default\" WHERE \"Timestamp\" >= %" PRId64
		 " AND \"Timestamp\" < %" PRId64 ";"
		 " ALTER TABLE \"DeviceProcessEvents\" ATTACH PARTITION"
		 " \"DeviceProcessEvents_d%" PRId64 "\" FOR VALUES FROM (%" PRId64 ") TO (%" PRId64
		 "); END IF; END $$; COMMIT;",
		 PARTITION_LOCK_KEY, day, day, day, low, high, low, high, day, low, high);
	status = postgres_execute(connection, sql);
	if (status) {
		log_warning("PostgreSQL store: cannot create the partition of day %" PRId64 ": %s",
			    day, PQerrorMessage(connection));
		postgres_execute(connection, "ROLLBACK");
	}
	return status;
}

/* The day partitions the batch's records need, made before its transaction. */
static int ensure_partitions(struct postgres_store *store, PGconn *connection,
			     const struct batch *batch, int64_t now)
{
	int64_t oldest = postgres_day_of(now - store->options.max_age_ticks);
	int64_t newest = postgres_day_of(now) + PARTITION_DAYS_AHEAD;
	int status = 0;

	pthread_mutex_lock(&store->partitions_lock);
	for (size_t i = 0; i < batch->record_count && status == 0; i++) {
		const struct value *time = &batch->records[i].values[DPE_TIMESTAMP];
		int64_t day;

		if (time->is_null)
			continue;
		day = postgres_day_of(time->ticks);
		if (day < oldest || day > newest || partition_known(store, day))
			continue;
		status = create_partition(connection, day);
		if (status == 0)
			status = remember_partition(store, day);
	}
	pthread_mutex_unlock(&store->partitions_lock);
	return status;
}

/* ---- writing ---------------------------------------------------------------------- */

static int prepare_staging(struct postgres_connection *slot)
{
	int status;

	if (slot->staging_ready)
		return 0;
	status = postgres_execute(
		slot->connection,
		"CREATE TEMPORARY TABLE IF NOT EXISTS staging_records"
		" (LIKE \"DeviceProcessEvents\" INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;"
		" ALTER TABLE staging_records ADD COLUMN IF NOT EXISTS n bigserial;"
		" CREATE TEMPORARY TABLE IF NOT EXISTS staging_hits"
		" (LIKE \"RuleHits\" INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;"
		" ALTER TABLE staging_hits ADD COLUMN IF NOT EXISTS n bigserial");
	slot->staging_ready = status == 0;
	return status;
}

/* The quoted record columns, comma-separated, with a prefix of extra names. */
static void append_record_names(struct strbuf *sql, const char *extra)
{
	strbuf_append_string(sql, extra);
	for (int i = 0; i < DPE_COLUMN_COUNT; i++)
		strbuf_appendf(sql, "%s\"%s\"", i || extra[0] ? "," : "", dpe_columns[i].name);
}

/*
 * Starts sql (a COPY ... FROM STDIN) and sends data to its end: 0 (the
 * COPY's outcome is then PQgetResult's) or a negative errno.
 */
static int copy_send(PGconn *connection, const char *sql, const struct strbuf *data)
{
	PGresult *result = PQexec(connection, sql);

	if (PQresultStatus(result) != PGRES_COPY_IN)
		return postgres_check(connection, result, "COPY");
	PQclear(result);
	if (PQputCopyData(connection, strbuf_text(data), (int)data->length) != 1 ||
	    PQputCopyEnd(connection, NULL) != 1)
		return postgres_result_errno(connection, NULL);
	return 0;
}

static int copy_in(PGconn *connection, const char *sql, const struct strbuf *data)
{
	int status = copy_send(connection, sql, data);

	return status ? status : postgres_check(connection, PQgetResult(connection), "COPY");
}

/*
 * Runs a command that changes rows (INSERT ... SELECT, DELETE): how many it
 * changed (>= 0) or a negative errno; doing names it in the error.
 */
static int64_t run_counting(PGconn *connection, const char *sql, const char *doing)
{
	PGresult *result = PQexec(connection, sql);
	int64_t changed;

	if (PQresultStatus(result) != PGRES_COMMAND_OK)
		return postgres_check(connection, result, doing);
	changed = strtoll(PQcmdTuples(result), NULL, 10);
	PQclear(result);
	return changed;
}

/*
 * The common case, a batch none of whose rows is stored yet: COPY straight
 * into table, under a savepoint.  1 (and the savepoint rolled back) when a
 * row is already there (a retry, or another collector's concurrent copy of
 * it, which the unique index waits for): the caller then goes through the
 * staging table; 0 with *stored, or a negative errno.
 */
static int copy_direct(PGconn *connection, const char *table, const struct strbuf *names,
		       const struct strbuf *data, int64_t *stored)
{
	struct strbuf sql;
	PGresult *result;
	int status = postgres_execute(connection, "SAVEPOINT direct_copy");

	strbuf_init(&sql);
	strbuf_appendf(&sql, "COPY \"%s\" (%s) FROM STDIN (FORMAT binary)", table,
		       strbuf_text(names));
	if (status == 0 && sql.failed)
		status = -ENOMEM;
	if (status == 0)
		status = copy_send(connection, strbuf_text(&sql), data);
	strbuf_free(&sql);
	if (status)
		return status;
	result = PQgetResult(connection);
	if (PQresultStatus(result) == PGRES_COMMAND_OK) {
		*stored = strtoll(PQcmdTuples(result), NULL, 10);
		PQclear(result);
		while ((result = PQgetResult(connection)))
			PQclear(result);
		return postgres_execute(connection, "RELEASE SAVEPOINT direct_copy");
	}
	const char *state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
	bool duplicate = state && strcmp(state, "23505") == 0; /* unique_violation */

	if (!duplicate)
		return postgres_check(connection, result, "COPY");
	PQclear(result);
	while ((result = PQgetResult(connection)))
		PQclear(result);
	status = postgres_execute(connection, "ROLLBACK TO SAVEPOINT direct_copy");
	return status ? status : 1;
}

/*
 * Stores data (rows of names' columns) in table: straight (copy_direct)
 * or, when some rows are already stored, COPY into staging and move the
 * rows into table skipping those: *stored and *duplicates grow.
 */
static int copy_rows(PGconn *connection, const char *table, const char *staging,
		     const struct strbuf *names, const struct strbuf *data, size_t count,
		     uint64_t *stored, uint64_t *duplicates)
{
	struct strbuf sql;
	int64_t inserted = 0;
	int status = data->failed || names->failed ? -ENOMEM
						   : copy_direct(connection, table, names, data,
								 &inserted);

	if (status <= 0) {
		if (status == 0) {
			*stored += (uint64_t)inserted;
			*duplicates += count - (uint64_t)inserted;
		}
		return status;
	}
	strbuf_init(&sql);
	strbuf_appendf(&sql, "COPY %s (%s) FROM STDIN (FORMAT binary)", staging, strbuf_text(names));
	status = sql.failed ? -ENOMEM : copy_in(connection, strbuf_text(&sql), data);
	strbuf_clear(&sql);
	strbuf_appendf(&sql,
		       "INSERT INTO \"%s\" (%s) SELECT %s FROM %s ORDER BY n ON CONFLICT DO NOTHING",
		       table, strbuf_text(names), strbuf_text(names), staging);
	if (status == 0)
		inserted = sql.failed ? -ENOMEM
				      : run_counting(connection, strbuf_text(&sql),
						     "storing the batch");
	strbuf_free(&sql);
	if (status)
		return status;
	if (inserted < 0)
		return (int)inserted;
	*stored += (uint64_t)inserted;
	*duplicates += count - (uint64_t)inserted;
	return 0;
}

static int put_records(PGconn *connection, const struct batch *batch,
		       struct store_batch_result *counts)
{
	struct strbuf data, names;
	int status;

	if (batch->record_count == 0)
		return 0;
	strbuf_init(&data);
	strbuf_init(&names);
	copy_start(&data);
	for (size_t i = 0; i < batch->record_count; i++) {
		copy_row_start(&data, DPE_COLUMN_COUNT);
		copy_values(&data, batch->records[i].values, DPE_COLUMN_COUNT);
	}
	copy_end(&data);
	append_record_names(&names, "");
	status = copy_rows(connection, "DeviceProcessEvents", "staging_records", &names, &data,
			   batch->record_count, &counts->records, &counts->duplicates);
	strbuf_free(&data);
	strbuf_free(&names);
	return status;
}

static int put_hits(PGconn *connection, const struct batch *batch,
		    struct store_batch_result *counts)
{
	struct strbuf data, names;
	int status;

	if (batch->hit_count == 0)
		return 0;
	strbuf_init(&data);
	strbuf_init(&names);
	copy_start(&data);
	for (size_t i = 0; i < batch->hit_count; i++) {
		const struct batch_hit *hit = &batch->hits[i];
		const char *rule[] = {hit->rule.id, hit->rule.name, hit->rule.tactics,
				      hit->rule.techniques};

		copy_row_start(&data, CACHE_HIT_COLUMN_COUNT + DPE_COLUMN_COUNT);
		for (size_t j = 0; j < CACHE_HIT_COLUMN_COUNT; j++)
			copy_text(&data, rule[j], strlen(rule[j]));
		copy_values(&data, hit->values, DPE_COLUMN_COUNT);
	}
	copy_end(&data);
	append_record_names(&names, "\"RuleId\",\"RuleName\",\"Tactics\",\"Techniques\"");
	status = copy_rows(connection, "RuleHits", "staging_hits", &names, &data, batch->hit_count,
			   &counts->hits, &counts->duplicates);
	strbuf_free(&data);
	strbuf_free(&names);
	return status;
}

/* A value as a text parameter (NULL for null); buffer holds numbers. */
static const char *parameter(const struct value *value, char *buffer, size_t size)
{
	if (value->type == VALUE_STRING)
		return value->str;
	if (value->is_null)
		return NULL;
	if (value->type == VALUE_BOOL)
		return value->b ? "t" : "f";
	snprintf(buffer, size, "%" PRId64, value->l);
	return buffer;
}

/*
 * Takes (device, rule) for a summary updated at `updated`: 1 when this one
 * is newer than the stored one (the row is then locked until commit, so a
 * concurrent writer waits and sees the new version), 0 when not.
 */
static int claim_summary(PGconn *connection, const char *device_id, const char *rule_id,
			 int64_t updated)
{
	char number[24];
	const char *values[] = {device_id, rule_id, number};
	PGresult *result;
	int status;

	snprintf(number, sizeof(number), "%" PRId64, updated);
	result = PQexecParams(connection,
			      "INSERT INTO \"SummaryVersions\" (\"DeviceId\", \"RuleId\", \"Updated\")"
			      " VALUES ($1, $2, $3) ON CONFLICT (\"DeviceId\", \"RuleId\") DO UPDATE"
			      " SET \"Updated\" = excluded.\"Updated\""
			      " WHERE \"SummaryVersions\".\"Updated\" < excluded.\"Updated\""
			      " RETURNING 1",
			      3, NULL, values, NULL, NULL, 0);
	if (PQresultStatus(result) != PGRES_TUPLES_OK)
		return postgres_check(connection, result, "storing a summary");
	status = PQntuples(result) > 0;
	PQclear(result);
	return status;
}

static int put_summary(PGconn *connection, const struct batch *batch,
		       const struct batch_summary *summary)
{
	const char *keys[] = {batch->device_id, summary->rule.id};
	int status = postgres_check(connection,
				    PQexecParams(connection,
						 "DELETE FROM \"RuleSummaries\" WHERE \"DeviceId\" = $1"
						 " AND \"RuleId\" = $2",
						 2, NULL, keys, NULL, NULL, 0),
				    "replacing a summary");

	for (size_t i = 0; i < summary->row_count && status == 0; i++) {
		char numbers[BATCH_SUMMARY_COLUMN_COUNT][24];
		const char *values[4 + BATCH_SUMMARY_COLUMN_COUNT] = {
			batch->device_id, batch->device_name, summary->rule.id, summary->rule.name};

		for (int column = 0; column < BATCH_SUMMARY_COLUMN_COUNT; column++)
			values[4 + column] = parameter(&summary->rows[i][column], numbers[column],
						       sizeof(numbers[column]));
		status = postgres_check(
			connection,
			PQexecParams(connection,
				     "INSERT INTO \"RuleSummaries\" (\"DeviceId\", \"DeviceName\","
				     " \"RuleId\", \"RuleName\", \"FirstSeen\", \"LastSeen\","
				     " \"Report\", \"Count\") VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
				     4 + BATCH_SUMMARY_COLUMN_COUNT, NULL, values, NULL, NULL, 0),
			"storing a summary");
	}
	return status;
}

static int put_summaries(PGconn *connection, const struct batch *batch,
			 struct store_batch_result *counts)
{
	for (size_t i = 0; i < batch->summary_count; i++) {
		const struct batch_summary *summary = &batch->summaries[i];
		int newer = claim_summary(connection, batch->device_id, summary->rule.id,
					  summary->updated);

		if (newer < 0)
			return newer;
		if (!newer) {
			counts->duplicates++;
			continue;
		}
		int status = put_summary(connection, batch, summary);

		if (status)
			return status;
		counts->summaries++;
	}
	return 0;
}

static int touch_device(PGconn *connection, const struct batch *batch, const char *peer_address,
			int64_t now, const struct store_batch_result *counts)
{
	char numbers[3][24];
	const char *values[] = {batch->device_id, batch->device_name, numbers[0], peer_address,
				numbers[1], numbers[2]};

	snprintf(numbers[0], sizeof(numbers[0]), "%" PRId64, now);
	snprintf(numbers[1], sizeof(numbers[1]), "%" PRIu64, counts->records);
	snprintf(numbers[2], sizeof(numbers[2]), "%" PRIu64, counts->hits);
	return postgres_check(connection,
			      PQexecParams(connection,
					   "UPDATE \"Devices\" SET \"DeviceName\" = $2,"
					   " \"LastContact\" = greatest(\"LastContact\", $3::bigint),"
					   " \"PeerAddress\" = $4,"
					   " \"Records\" = \"Records\" + $5, \"Hits\" = \"Hits\" + $6"
					   " WHERE \"DeviceId\" = $1",
					   6, NULL, values, NULL, NULL, 0),
			      "updating the device");
}

/* Commits when status is 0, else rolls back. */
static int finish(PGconn *connection, int status)
{
	if (status == 0)
		status = postgres_execute(connection, "COMMIT");
	if (status)
		postgres_execute(connection, "ROLLBACK");
	return status;
}

static int postgres_put_batch(void *state, const struct batch *batch, const char *peer_address,
			      int64_t now, struct store_batch_result *result)
{
	struct postgres_store *store = state;
	struct postgres_connection *slot = postgres_take(store);
	PGconn *connection = slot->connection;
	struct store_batch_result counts = {0};
	int status = prepare_staging(slot);

	if (status == 0)
		status = ensure_partitions(store, connection, batch, now);
	if (status == 0)
		status = postgres_execute(connection, "BEGIN");
	if (status == 0) {
		status = put_records(connection, batch, &counts);
		if (status == 0)
			status = put_hits(connection, batch, &counts);
		if (status == 0)
			status = put_summaries(connection, batch, &counts);
		if (status == 0)
			status = touch_device(connection, batch, peer_address, now, &counts);
		status = finish(connection, status);
	}
	postgres_give(store, slot);
	if (status == 0)
		*result = counts;
	return status;
}

static int run_update(struct postgres_store *store, const char *sql, int count,
		      const char *const *values, int64_t *changed)
{
	struct postgres_connection *slot = postgres_take(store);
	PGresult *result = PQexecParams(slot->connection, sql, count, NULL, values, NULL, NULL, 0);
	int status = 0;

	if (PQresultStatus(result) == PGRES_COMMAND_OK || PQresultStatus(result) == PGRES_TUPLES_OK) {
		if (changed)
			*changed = strtoll(PQcmdTuples(result), NULL, 10);
		PQclear(result);
	} else {
		status = postgres_check(slot->connection, result, "updating the devices");
	}
	postgres_give(store, slot);
	return status;
}

static int postgres_put_heartbeat(void *state, const struct store_heartbeat *heartbeat,
				  int64_t now)
{
	char interval[24], time[24];
	const char *values[] = {heartbeat->device_id, heartbeat->device_name,
				heartbeat->agent_version, heartbeat->peer_address,
				interval, heartbeat->json, time};

	snprintf(interval, sizeof(interval), "%" PRId64, heartbeat->interval_seconds);
	snprintf(time, sizeof(time), "%" PRId64, now);
	return run_update(state,
			  "UPDATE \"Devices\" SET \"DeviceName\" = $2, \"AgentVersion\" = $3,"
			  " \"PeerAddress\" = $4, \"IntervalSeconds\" = $5, \"Heartbeat\" = $6,"
			  " \"LastHeartbeat\" = $7, \"LastContact\" = greatest(\"LastContact\", $7)"
			  " WHERE \"DeviceId\" = $1",
			  7, values, NULL);
}

/* ---- identity ------------------------------------------------------------------ */

#define KEY_HEX_SIZE (2 * STORE_KEY_HASH_BYTES + 3)

/* A key hash as a bytea literal in hex: "\\x0123...". */
static void key_hex(const unsigned char key_hash[STORE_KEY_HASH_BYTES], char hex[KEY_HEX_SIZE])
{
	static const char digits[] = "0123456789abcdef";
	size_t at = 0;

	hex[at++] = '\\';
	hex[at++] = 'x';
	for (size_t i = 0; i < STORE_KEY_HASH_BYTES; i++) {
		hex[at++] = digits[key_hash[i] >> 4];
		hex[at++] = digits[key_hash[i] & 15];
	}
	hex[at] = '\0';
}

/*
 * Runs sql (one statement whose result is "revoked" rows) for device_id:
 * -EPERM when it returns a revoked device.
 */
static int identity_statement(struct postgres_store *store, const char *sql, int count,
			      const char *const *values, int64_t *rows)
{
	struct postgres_connection *slot = postgres_take(store);
	PGresult *result = PQexecParams(slot->connection, sql, count, NULL, values, NULL, NULL, 0);
	int status;

	if (PQresultStatus(result) != PGRES_TUPLES_OK) {
		status = postgres_check(slot->connection, result, "updating the devices");
	} else {
		status = PQntuples(result) > 0 && PQgetvalue(result, 0, 0)[0] == 't' ? -EPERM : 0;
		if (rows)
			*rows = PQntuples(result);
		PQclear(result);
	}
	postgres_give(store, slot);
	return status;
}

static int postgres_enroll(void *state, const char *device_id, const char *device_name,
			   const char *agent_version,
			   const unsigned char key_hash[STORE_KEY_HASH_BYTES], int64_t now)
{
	char hex[KEY_HEX_SIZE], time[24];
	const char *values[] = {device_id, device_name, agent_version, hex, time};

	key_hex(key_hash, hex);
	snprintf(time, sizeof(time), "%" PRId64, now);
	/* a revoked device keeps its row unchanged: the WHERE refuses the update */
	int64_t rows = 0;
	int status = identity_statement(
		state,
		"WITH up AS (INSERT INTO \"Devices\" AS d (\"DeviceId\", \"DeviceName\","
		" \"AgentVersion\", \"KeyHash\", \"Enrolled\", \"EnrolledAt\", \"LastContact\")"
		" VALUES ($1, $2, $3, $4::bytea, true, $5, $5) ON CONFLICT (\"DeviceId\") DO UPDATE"
		" SET \"DeviceName\" = excluded.\"DeviceName\","
		" \"AgentVersion\" = excluded.\"AgentVersion\", \"KeyHash\" = excluded.\"KeyHash\","
		" \"Enrolled\" = true, \"EnrolledAt\" = excluded.\"EnrolledAt\","
		" \"LastContact\" = excluded.\"LastContact\" WHERE NOT d.\"Revoked\" RETURNING 1)"
		" SELECT true FROM \"Devices\" WHERE \"DeviceId\" = $1 AND \"Revoked\""
		" AND NOT EXISTS (SELECT 1 FROM up)",
		5, values, &rows);

	return status;
}

static int postgres_lookup_key(void *state, const unsigned char key_hash[STORE_KEY_HASH_BYTES],
			       char device_id[BATCH_ID_MAX + 1], bool *revoked)
{
	struct postgres_store *store = state;
	char hex[KEY_HEX_SIZE];
	const char *values[] = {hex};
	struct postgres_connection *slot;
	PGresult *result;
	int status;

	key_hex(key_hash, hex);
	slot = postgres_take(store);
	result = PQexecParams(slot->connection,
			      "SELECT \"DeviceId\", \"Revoked\" FROM \"Devices\""
			      " WHERE \"KeyHash\" = $1::bytea",
			      1, NULL, values, NULL, NULL, 0);
	if (PQresultStatus(result) != PGRES_TUPLES_OK) {
		status = postgres_check(slot->connection, result, "looking up a key");
	} else if (PQntuples(result) == 0) {
		status = -ENOENT;
		PQclear(result);
	} else {
		snprintf(device_id, BATCH_ID_MAX + 1, "%s", PQgetvalue(result, 0, 0));
		*revoked = PQgetvalue(result, 0, 1)[0] == 't';
		status = 0;
		PQclear(result);
	}
	postgres_give(store, slot);
	return status;
}

static int postgres_check_certificate_device(void *state, const char *device_id, int64_t now)
{
	char time[24];
	const char *values[] = {device_id, time};

	snprintf(time, sizeof(time), "%" PRId64, now);
	return identity_statement(state,
				  "WITH up AS (INSERT INTO \"Devices\" (\"DeviceId\", \"EnrolledAt\","
				  " \"LastContact\") VALUES ($1, $2, $2) ON CONFLICT (\"DeviceId\")"
				  " DO NOTHING) SELECT \"Revoked\" FROM \"Devices\""
				  " WHERE \"DeviceId\" = $1",
				  2, values, NULL);
}

static int postgres_set_revoked(void *state, const char *device_id, bool revoked, int64_t now)
{
	const char *values[] = {device_id, revoked ? "t" : "f"};
	int64_t changed = 0;
	int status;

	(void)now;
	status = run_update(state,
			    "UPDATE \"Devices\" SET \"Revoked\" = $2::boolean,"
			    " \"KeyHash\" = CASE WHEN $2::boolean THEN \"KeyHash\" ELSE NULL END,"
			    " \"Enrolled\" = CASE WHEN $2::boolean THEN \"Enrolled\" ELSE false END"
			    " WHERE \"DeviceId\" = $1",
			    2, values, &changed);
	return status ? status : changed == 0 ? -ENOENT : 0;
}

/* ---- devices ------------------------------------------------------------------ */

static int read_device(const PGresult *rows, int row, struct store_device *device)
{
	memset(device, 0, sizeof(*device));
	snprintf(device->device_id, sizeof(device->device_id), "%s", PQgetvalue(rows, row, 0));
	device->device_name = strdup(PQgetvalue(rows, row, 1));
	device->revoked = PQgetvalue(rows, row, 2)[0] == 't';
	device->enrolled = PQgetvalue(rows, row, 3)[0] == 't';
	device->enrolled_at = strtoll(PQgetvalue(rows, row, 4), NULL, 10);
	device->last_contact = strtoll(PQgetvalue(rows, row, 5), NULL, 10);
	device->last_heartbeat = strtoll(PQgetvalue(rows, row, 6), NULL, 10);
	device->interval_seconds = strtoll(PQgetvalue(rows, row, 7), NULL, 10);
	device->agent_version = strdup(PQgetvalue(rows, row, 8));
	device->peer_address = strdup(PQgetvalue(rows, row, 9));
	device->heartbeat_json = strdup(PQgetvalue(rows, row, 10));
	device->records = strtoll(PQgetvalue(rows, row, 11), NULL, 10);
	device->hits = strtoll(PQgetvalue(rows, row, 12), NULL, 10);
	return device->device_name && device->agent_version && device->peer_address &&
			       device->heartbeat_json
		       ? 0
		       : -ENOMEM;
}

static int postgres_list_devices(void *state, struct store_device **out, size_t *out_count)
{
	struct postgres_store *store = state;
	struct postgres_connection *slot = postgres_take(store);
	PGresult *rows = PQexec(slot->connection,
				"SELECT \"DeviceId\", \"DeviceName\", \"Revoked\", \"Enrolled\","
				" \"EnrolledAt\", \"LastContact\", \"LastHeartbeat\","
				" \"IntervalSeconds\", \"AgentVersion\", \"PeerAddress\","
				" \"Heartbeat\", \"Records\", \"Hits\" FROM \"Devices\""
				" ORDER BY \"DeviceId\" COLLATE \"C\"");
	struct store_device *devices = NULL;
	size_t count = 0;
	int status = 0;

	if (PQresultStatus(rows) != PGRES_TUPLES_OK) {
		status = postgres_check(slot->connection, rows, "listing the devices");
		postgres_give(store, slot);
		return status;
	}
	count = (size_t)PQntuples(rows);
	devices = calloc(count ? count : 1, sizeof(*devices));
	status = devices ? 0 : -ENOMEM;
	for (size_t i = 0; i < count && status == 0; i++)
		status = read_device(rows, (int)i, &devices[i]);
	PQclear(rows);
	postgres_give(store, slot);
	if (status) {
		store_free_devices(devices, count);
		return status;
	}
	*out = devices;
	*out_count = count;
	return 0;
}

/* ---- upkeep -------------------------------------------------------------------------- */

/* The first number of sql's first row; *value untouched when none. */
static int read_number(PGconn *connection, const char *sql, int64_t *value)
{
	PGresult *result = PQexec(connection, sql);

	if (PQresultStatus(result) != PGRES_TUPLES_OK)
		return postgres_check(connection, result, "reading the store's statistics");
	if (PQntuples(result) > 0 && !PQgetisnull(result, 0, 0))
		*value = strtoll(PQgetvalue(result, 0, 0), NULL, 10);
	PQclear(result);
	return 0;
}

static int add_meta(PGconn *connection, const char *key, int64_t amount)
{
	char sql[200];

	snprintf(sql, sizeof(sql),
		 "INSERT INTO \"CollectorMeta\" (\"Key\", \"Value\") VALUES ('%s', %" PRId64 ")"
		 " ON CONFLICT (\"Key\") DO UPDATE SET \"Value\" = \"CollectorMeta\".\"Value\""
		 " + excluded.\"Value\"",
		 key, amount);
	return postgres_execute(connection, sql);
}

/* The oldest day partition, and the bytes all partitions hold. */
static int oldest_partition(PGconn *connection, int64_t *day, int64_t *bytes)
{
	PGresult *result = PQexec(
		connection,
		"SELECT min(substr(c.relname, 22)::bigint) FILTER (WHERE c.relname ~ '_d-?[0-9]+$'),"
		" coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_inherits i"
		" JOIN pg_class c ON c.oid = i.inhrelid"
		" WHERE i.inhparent = '\"DeviceProcessEvents\"'::regclass");
	int status = 0;

	if (PQresultStatus(result) != PGRES_TUPLES_OK)
		return postgres_check(connection, result, "listing the partitions");
	*day = PQgetisnull(result, 0, 0) ? INT64_MAX : strtoll(PQgetvalue(result, 0, 0), NULL, 10);
	*bytes = strtoll(PQgetvalue(result, 0, 1), NULL, 10);
	PQclear(result);
	return status;
}

/* Drops day's partition: the rows it held (>= 0), or a negative errno. */
static int64_t drop_partition(struct postgres_store *store, PGconn *connection, int64_t day)
{
	char sql[600];
	int64_t rows = 0;
	int status;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"DeviceProcessEvents_d%" PRId64 "\"", day);
	status = read_number(connection, sql, &rows);
	snprintf(sql, sizeof(sql),
		 "BEGIN; SELECT pg_advisory_xact_lock(%lld);"
		 " DROP TABLE IF EXISTS \"DeviceProcessEvents_d%" PRId64 "\"; COMMIT",
		 PARTITION_LOCK_KEY, day);
	if (status == 0)
		status = postgres_execute(connection, sql);
	if (status) {
		postgres_execute(connection, "ROLLBACK");
		return status;
	}
	pthread_mutex_lock(&store->partitions_lock);
	for (size_t i = 0; i < store->partition_day_count; i++)
		if (store->partition_days[i] == day)
			store->partition_days[i] = store->partition_days[--store->partition_day_count];
	pthread_mutex_unlock(&store->partitions_lock);
	log_info("PostgreSQL store: retention dropped the records of day %" PRId64
		 " (%" PRId64 " rows)", day, rows);
	return rows;
}

/* Deletes up to limit rows of sql's selection ("... WHERE rowid IN (%s)"). */
static int64_t delete_chunk(PGconn *connection, const char *sql)
{
	return run_counting(connection, sql, "retention");
}

static int64_t retention_records(struct postgres_store *store, PGconn *connection, int64_t now)
{
	int64_t cutoff = now - store->options.max_age_ticks;
	int64_t day = INT64_MAX, bytes = 0, removed;
	char sql[400];
	int status = oldest_partition(connection, &day, &bytes);

	if (status)
		return status;
	if (day != INT64_MAX && ((day + 1) * TICKS_PER_DAY <= cutoff ||
				 (store->options.max_bytes > 0 && bytes > store->options.max_bytes)))
		return drop_partition(store, connection, day);
	snprintf(sql, sizeof(sql),
		 "DELETE FROM \"DeviceProcessEvents_default\" WHERE ctid IN (SELECT ctid FROM"
		 " \"DeviceProcessEvents_default\" WHERE \"Timestamp\" < %" PRId64
		 " OR \"Timestamp\" IS NULL LIMIT %d)",
		 cutoff, store->options.retention_chunk);
	removed = delete_chunk(connection, sql);
	if (removed == 0 && day == INT64_MAX && store->options.max_bytes > 0 &&
	    bytes > store->options.max_bytes) {
		snprintf(sql, sizeof(sql),
			 "DELETE FROM \"DeviceProcessEvents_default\" WHERE ctid IN (SELECT ctid FROM"
			 " \"DeviceProcessEvents_default\" ORDER BY \"Timestamp\" LIMIT %d)",
			 store->options.retention_chunk);
		removed = delete_chunk(connection, sql);
	}
	return removed;
}

static int64_t retention_hits(struct postgres_store *store, PGconn *connection, int64_t now)
{
	int64_t before = now - store->options.hits_max_age_ticks, removed;
	char sql[500];

	snprintf(sql, sizeof(sql),
		 "DELETE FROM \"RuleHits\" WHERE rowid IN (SELECT rowid FROM \"RuleHits\""
		 " WHERE \"Timestamp\" < %" PRId64 " ORDER BY \"Timestamp\" LIMIT %d)",
		 before, store->options.retention_chunk);
	removed = delete_chunk(connection, sql);
	if (removed > 0) {
		add_meta(connection, "retention_hits", removed);
		return removed;
	}
	if (removed == 0) {
		snprintf(sql, sizeof(sql),
			 "DELETE FROM \"RuleSummaries\" s USING \"SummaryVersions\" v"
			 " WHERE v.\"DeviceId\" = s.\"DeviceId\" AND v.\"RuleId\" = s.\"RuleId\""
			 " AND v.\"Updated\" < %" PRId64,
			 before);
		removed = delete_chunk(connection, sql);
	}
	if (removed == 0) {
		snprintf(sql, sizeof(sql),
			 "DELETE FROM \"SummaryVersions\" WHERE \"Updated\" < %" PRId64, before);
		removed = delete_chunk(connection, sql);
	}
	return removed;
}

static int postgres_retention_step(void *state, int64_t now)
{
	struct postgres_store *store = state;
	struct postgres_connection *slot = postgres_take(store);
	int64_t removed = retention_records(store, slot->connection, now);

	if (removed > 0)
		add_meta(slot->connection, "retention_records", removed);
	if (removed == 0)
		removed = retention_hits(store, slot->connection, now);
	postgres_give(store, slot);
	return removed > INT32_MAX ? INT32_MAX : (int)removed;
}

static int postgres_read_stats(void *state, struct store_stats *stats)
{
	struct postgres_store *store = state;
	struct postgres_connection *slot = postgres_take(store);
	PGconn *connection = slot->connection;
	int64_t retained[2] = {0, 0};
	int status;

	memset(stats, 0, sizeof(*stats));
	status = read_number(connection, "SELECT pg_database_size(current_database())",
			     &stats->data_bytes);
	if (status == 0)
		status = read_number(connection, "SELECT count(*) FROM \"Devices\"", &stats->devices);
	if (status == 0)
		status = read_number(connection,
				     "SELECT count(*) FROM \"Devices\" WHERE \"Revoked\"",
				     &stats->revoked);
	if (status == 0)
		status = read_number(connection,
				     "SELECT \"Value\" FROM \"CollectorMeta\""
				     " WHERE \"Key\" = 'retention_records'",
				     &retained[0]);
	if (status == 0)
		status = read_number(connection,
				     "SELECT \"Value\" FROM \"CollectorMeta\""
				     " WHERE \"Key\" = 'retention_hits'",
				     &retained[1]);
	stats->retention_records = (uint64_t)retained[0];
	stats->retention_hits = (uint64_t)retained[1];
	postgres_give(store, slot);
	return status;
}

static int postgres_check_writable(void *state)
{
	struct postgres_store *store = state;
	struct postgres_connection *slot = postgres_take(store);
	int status = postgres_execute(slot->connection,
				      "BEGIN READ WRITE;"
				      " SELECT 1 FROM \"CollectorMeta\" LIMIT 1 FOR UPDATE; COMMIT");

	if (status)
		postgres_execute(slot->connection, "ROLLBACK");
	postgres_give(store, slot);
	return status;
}

const struct store_backend store_postgres_backend = {
	.name = "postgresql",
	.open = postgres_open,
	.close = postgres_close,
	.enroll = postgres_enroll,
	.lookup_key = postgres_lookup_key,
	.check_certificate_device = postgres_check_certificate_device,
	.set_revoked = postgres_set_revoked,
	.put_batch = postgres_put_batch,
	.put_heartbeat = postgres_put_heartbeat,
	.run_query_planned = postgres_run_query,
	.list_devices = postgres_list_devices,
	.retention_step = postgres_retention_step,
	.read_stats = postgres_read_stats,
	.check_writable = postgres_check_writable,
};
