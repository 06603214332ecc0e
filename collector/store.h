/*
 * store.h - the collector's store: devices and their keys, batches,
 * heartbeats, fleet-wide KQL, retention.
 *
 * One interface, backends behind it: SQLite (store_sqlite.c, WAL, the
 * embedded default: --db PATH) and PostgreSQL (store_postgres.c, --db
 * postgresql://..., for several collectors over one database).  A backend offers its event tables as
 * KQL row sources (lib/store/store_query.h), so a fleet query runs through
 * the same engine with the same semantics as on a host's cache; DeviceInfo
 * is built here from the device list, whatever the backend.
 *
 * Threads: every operation may be called from any thread.  Writes are
 * serialised by the backend (one writer); reads (key look-ups, queries,
 * device lists) use their own connections and never wait for a write.
 */
#ifndef RMMHUNT_COLLECTOR_STORE_H
#define RMMHUNT_COLLECTOR_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kql/kql.h"
#include "model/schema.h"
#include "wire/batch_reader.h"

#define STORE_KEY_HASH_BYTES 32 /* SHA-256 of a device key */
#define STORE_TABLE_COUNT 4	/* DeviceProcessEvents, RuleHits, RuleSummaries, DeviceInfo */
#define STORE_DEFAULT_INTERVAL_SECONDS 60

struct store_options {
	int64_t max_age_ticks;	    /* records older than this go (default 30 days) */
	int64_t max_bytes;	    /* records beyond this size go, oldest first (default 64 GiB) */
	int64_t hits_max_age_ticks; /* hits and summaries (default 365 days) */
	int retention_chunk;	    /* rows per retention step (default 5000) */
	int readers;		    /* read connections (default 4) */
};

struct store_batch_result {
	uint64_t records, hits, summaries; /* newly stored */
	uint64_t duplicates;		   /* already there (or an older summary) */
};

/* What the store knows of one device (store_list_devices). */
struct store_device {
	char device_id[BATCH_ID_MAX + 1];
	char *device_name;
	bool revoked;
	bool enrolled;		 /* has a device key (else: known by certificate) */
	int64_t enrolled_at;	 /* ticks; 0 unknown */
	int64_t last_contact;	 /* last accepted request, ticks; 0 never */
	int64_t last_heartbeat;	 /* ticks; 0 never */
	int64_t interval_seconds; /* of the last heartbeat */
	int64_t records, hits;	 /* stored so far */
	char *agent_version;
	char *peer_address;
	char *heartbeat_json; /* the latest heartbeat body, "" none */
};

struct store_stats {
	int64_t data_bytes, wal_bytes;
	uint64_t retention_records, retention_hits; /* removed, ever */
	int64_t devices, revoked;
};

struct store;

void store_default_options(struct store_options *options);

/*
 * Opens (creates) the store at location: a file path (SQLite) or a
 * postgresql:// URL.  Returns 0 or a negative errno with a sentence in
 * message.
 */
/* Is location a PostgreSQL URL (postgresql:// or postgres://)? */
bool store_is_postgres(const char *location);

int store_open(const char *location, const struct store_options *options, struct store **out,
	       char *message, size_t message_size);
void store_close(struct store *store);

/* ---- identity ---------------------------------------------------------------- */

/*
 * Binds key_hash to device_id (replacing an older key).  -EPERM when the
 * device is revoked.
 */
int store_enroll(struct store *store, const char *device_id, const char *device_name,
		 const char *agent_version, const unsigned char key_hash[STORE_KEY_HASH_BYTES],
		 int64_t now);
/*
 * The device a key hash belongs to: 0 with device_id filled and *revoked,
 * -ENOENT when no device has it.
 */
int store_lookup_key(struct store *store, const unsigned char key_hash[STORE_KEY_HASH_BYTES],
		     char device_id[BATCH_ID_MAX + 1], bool *revoked);
/*
 * A device known by its client certificate: 0 (registered on first use),
 * -EPERM when revoked.
 */
int store_check_certificate_device(struct store *store, const char *device_id, int64_t now);
/* Revoke or allow again.  -ENOENT: no such device (allowing one registers it). */
int store_set_revoked(struct store *store, const char *device_id, bool revoked, int64_t now);

/* ---- writing --------------------------------------------------------------- */

/*
 * Stores a checked batch atomically: all of it, or nothing (negative errno,
 * -EBUSY when the store is busy).  Records and hits already stored count as
 * duplicates; a summary replaces the stored one only when newer.
 */
int store_put_batch(struct store *store, const struct batch *batch, const char *peer_address,
		    int64_t now, struct store_batch_result *result);

struct store_heartbeat {
	const char *device_id, *device_name, *agent_version, *peer_address;
	int64_t interval_seconds;
	const char *json; /* the whole body, kept as the latest heartbeat */
};

int store_put_heartbeat(struct store *store, const struct store_heartbeat *heartbeat,
			int64_t now);

/* ---- reading --------------------------------------------------------------- */

/* The tables fleet KQL sees, for kql_compile(). */
void store_tables(const struct table_schema *tables[STORE_TABLE_COUNT]);

/* Runs a query compiled against store_tables() at now() = now. */
int store_run_query(struct store *store, struct kql_query *query, int64_t now,
		    struct kql_table **result, struct kql_error *error);
/*
 * The same, appending to plan (a JSON array) one object per table read:
 * the backend, what ran in the store (the SQL of PostgreSQL), the rows the
 * store handed to the collector's KQL engine, which ran the rest.
 */
struct json_t;
int store_run_query_planned(struct store *store, struct kql_query *query, int64_t now,
			    struct kql_table **result, struct kql_error *error,
			    struct json_t *plan);

/* Every device, in DeviceId order.  Free with store_free_devices(). */
int store_list_devices(struct store *store, struct store_device **devices, size_t *count);
void store_free_devices(struct store_device *devices, size_t count);

/* ---- upkeep ------------------------------------------------------------------ */

/* One retention step (age, then size); rows removed, 0 when none is due. */
int store_retention_step(struct store *store, int64_t now);
int store_read_stats(struct store *store, struct store_stats *stats);
/* 0 when a write can be made now (/healthz). */
int store_check_writable(struct store *store);

#endif
