/*
 * store.c - the store interface (store.h): picks the backend from the
 * location, forwards each operation, and adds what every backend shares:
 * the RuleSummaries schema, the DeviceInfo table, the query run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device_info.h"
#include "group_commit.h"
#include "store/cache_schema.h"
#include "store_backend.h"

struct store {
	const struct store_backend *backend;
	void *state;
	struct group_commit group; /* for backends with put_batches */
};

static const struct column_def summaries_columns[] = {
	{"DeviceId", VALUE_STRING},  {"DeviceName", VALUE_STRING}, {"RuleId", VALUE_STRING},
	{"RuleName", VALUE_STRING},  {"FirstSeen", VALUE_DATETIME}, {"LastSeen", VALUE_DATETIME},
	{"Report", VALUE_DYNAMIC},   {"Count", VALUE_LONG},
};

static const struct table_schema summaries_schema = {
	"RuleSummaries", sizeof(summaries_columns) / sizeof(summaries_columns[0]),
	summaries_columns};

const struct table_schema *store_summaries_schema(void)
{
	return &summaries_schema;
}

size_t store_backend_tables(struct store_table tables[STORE_MAX_TABLES], struct store_table opener,
			    const struct store_table *extra, size_t extra_count)
{
	const struct table_schema *schemas[] = {&dpe_schema, cache_hits_schema(), &summaries_schema};
	size_t count = 0;

	for (size_t i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++) {
		tables[count] = opener;
		tables[count++].schema = schemas[i];
	}
	for (size_t i = 0; i < extra_count && count < STORE_MAX_TABLES; i++)
		tables[count++] = extra[i];
	return count;
}

const struct table_schema *store_event_table(const char *name)
{
	const struct table_schema *schemas[] = {&dpe_schema, cache_hits_schema(), &summaries_schema};

	for (size_t i = 0; name && i < sizeof(schemas) / sizeof(schemas[0]); i++)
		if (strcmp(schemas[i]->name, name) == 0)
			return schemas[i];
	return NULL;
}

void store_tables(const struct table_schema *tables[STORE_TABLE_COUNT])
{
	tables[0] = &dpe_schema;
	tables[1] = cache_hits_schema();
	tables[2] = &summaries_schema;
	tables[3] = device_info_schema();
}

void store_default_options(struct store_options *options)
{
	options->max_age_ticks = 30 * TICKS_PER_DAY;
	options->max_bytes = 64LL << 30;
	options->hits_max_age_ticks = 365 * TICKS_PER_DAY;
	options->retention_chunk = 5000;
	options->readers = 4;
}

bool store_is_postgres(const char *location)
{
	return strncmp(location, "postgresql://", 13) == 0 ||
	       strncmp(location, "postgres://", 11) == 0;
}

int store_open(const char *location, const struct store_options *options, struct store **out,
	       char *message, size_t message_size)
{
	struct store *store;
	int result;

	store = calloc(1, sizeof(*store));
	if (!store)
		return -ENOMEM;
	store->backend = store_is_postgres(location) ? &store_postgres_backend
						      : &store_sqlite_backend;
	result = store->backend->open(location, options, &store->state, message, message_size);
	if (result) {
		free(store);
		return result;
	}
	group_commit_init(&store->group);
	*out = store;
	return 0;
}

void store_close(struct store *store)
{
	if (!store)
		return;
	store->backend->close(store->state);
	group_commit_destroy(&store->group);
	free(store);
}

int store_enroll(struct store *store, const char *device_id, const char *device_name,
		 const char *agent_version, const unsigned char key_hash[STORE_KEY_HASH_BYTES],
		 int64_t now)
{
	return store->backend->enroll(store->state, device_id, device_name, agent_version, key_hash,
				      now);
}

int store_lookup_key(struct store *store, const unsigned char key_hash[STORE_KEY_HASH_BYTES],
		     char device_id[BATCH_ID_MAX + 1], bool *revoked)
{
	return store->backend->lookup_key(store->state, key_hash, device_id, revoked);
}

int store_check_certificate_device(struct store *store, const char *device_id, int64_t now)
{
	return store->backend->check_certificate_device(store->state, device_id, now);
}

int store_set_revoked(struct store *store, const char *device_id, bool revoked, int64_t now)
{
	return store->backend->set_revoked(store->state, device_id, revoked, now);
}

int store_put_batch(struct store *store, const struct batch *batch, const char *peer_address,
		    int64_t now, struct store_batch_result *result)
{
	struct group_waiter waiter = {{batch, peer_address, {0}, 0, NULL}, false, NULL};
	void *prepared = NULL;

	if (!store->backend->put_batches)
		return store->backend->put_batch(store->state, batch, peer_address, now, result);
	if (store->backend->prepare_batch) {
		int status = store->backend->prepare_batch(store->state, batch, &prepared);

		if (status)
			return status;
		waiter.job.prepared = prepared;
	}
	if (group_commit_put(&store->group, store->backend, store->state, &waiter, now) == 0)
		*result = waiter.job.result;
	if (prepared)
		store->backend->free_prepared(prepared);
	return waiter.job.status;
}

int store_put_heartbeat(struct store *store, const struct store_heartbeat *heartbeat, int64_t now)
{
	return store->backend->put_heartbeat(store->state, heartbeat, now);
}

int store_list_devices(struct store *store, struct store_device **devices, size_t *count)
{
	return store->backend->list_devices(store->state, devices, count);
}

void store_free_devices(struct store_device *devices, size_t count)
{
	for (size_t i = 0; devices && i < count; i++) {
		free(devices[i].device_name);
		free(devices[i].agent_version);
		free(devices[i].peer_address);
		free(devices[i].heartbeat_json);
	}
	free(devices);
}

int store_retention_step(struct store *store, int64_t now)
{
	return store->backend->retention_step(store->state, now);
}

int store_read_stats(struct store *store, struct store_stats *stats)
{
	return store->backend->read_stats(store->state, stats);
}

int store_check_writable(struct store *store)
{
	return store->backend->check_writable(store->state);
}

/* ---- queries ---------------------------------------------------------------- */

/* DeviceInfo from a device list read before the query's own scans start. */
struct device_info_context {
	const struct store_device *devices;
	size_t count;
};

static int open_device_info(void *context, const struct kql_query *query,
			    const struct table_schema *schema, int64_t now,
			    struct kql_source *source, void **handle, char *message,
			    size_t message_size)
{
	struct device_info_context *info = context;
	struct device_info_source *rows = NULL;
	int result = device_info_source_open(info->devices, info->count, now, &rows);

	(void)query;
	(void)schema;
	if (result) {
		snprintf(message, message_size, "out of memory building DeviceInfo");
		return result;
	}
	*source = *device_info_source(rows);
	*handle = rows;
	return 0;
}

static void close_device_info(void *handle)
{
	device_info_source_close(handle);
}

int store_run_query(struct store *store, struct kql_query *query, int64_t now,
		    struct kql_table **result, struct kql_error *error)
{
	return store_run_query_planned(store, query, now, result, error, NULL);
}

/* What a backend without a plan of its own did: all of it in the collector. */
static void plan_in_collector(const struct store *store, const struct kql_query *query,
			      json_t *plan)
{
	const char *table = kql_query_table(query);

	json_array_append_new(plan, json_pack("{s:s,s:s,s:s}", "table", table ? table : "",
					      "backend", store->backend->name, "note",
					      "rows read by the collector (time range and required"
					      " terms checked by SQLite), the query run by the"
					      " collector"));
}

int store_run_query_planned(struct store *store, struct kql_query *query, int64_t now,
			    struct kql_table **result, struct kql_error *error, json_t *plan)
{
	const struct table_schema *info = device_info_schema();
	struct device_info_context context = {NULL, 0};
	struct store_device *devices = NULL;
	struct store_table extra = {info, open_device_info, close_device_info, &context};
	bool used[32];
	int status = 0;

	*result = NULL;
	memset(error, 0, sizeof(*error));
	if (kql_query_columns_used(query, info->name, used, info->column_count) == 0) {
		status = store_list_devices(store, &devices, &context.count);
		context.devices = devices;
		if (status) {
			error->kind = status == -ENOMEM ? KQL_ERROR_NOMEM : KQL_ERROR_RUNTIME;
			snprintf(error->message, sizeof(error->message),
				 "cannot read the device list: %s", strerror(-status));
			return status;
		}
	}
	if (store->backend->run_query_planned) {
		status = store->backend->run_query_planned(store->state, query, &extra, 1, now,
							   result, error, plan);
	} else {
		status = store->backend->run_query(store->state, query, &extra, 1, now, result,
						   error);
		if (plan && status == 0)
			plan_in_collector(store, query, plan);
	}
	store_free_devices(devices, context.count);
	return status;
}
