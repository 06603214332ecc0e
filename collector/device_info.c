/*
 * device_info.c - device health, the DeviceInfo table and the device list
 * (device_info.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "device_info.h"
#include "kql/kql_format.h"
#include "wire/wire.h"

enum device_info_column {
	INFO_TIMESTAMP,
	INFO_DEVICE_ID,
	INFO_DEVICE_NAME,
	INFO_CLIENT_VERSION,
	INFO_PUBLIC_IP,
	INFO_OS_ARCHITECTURE,
	INFO_OS_PLATFORM,
	INFO_OS_VERSION,
	INFO_OS_DISTRIBUTION,
	INFO_OS_VERSION_INFO,
	INFO_DEVICE_CATEGORY,
	INFO_ONBOARDING_STATUS,
	INFO_SENSOR_HEALTH_STATE,
	INFO_MACHINE_GROUP,
	INFO_REPORT_ID,
	INFO_ADDITIONAL_FIELDS,
	INFO_COLUMN_COUNT
};

static const struct column_def info_columns[INFO_COLUMN_COUNT] = {
	[INFO_TIMESTAMP] = {"Timestamp", VALUE_DATETIME},
	[INFO_DEVICE_ID] = {"DeviceId", VALUE_STRING},
	[INFO_DEVICE_NAME] = {"DeviceName", VALUE_STRING},
	[INFO_CLIENT_VERSION] = {"ClientVersion", VALUE_STRING},
	[INFO_PUBLIC_IP] = {"PublicIP", VALUE_STRING},
	[INFO_OS_ARCHITECTURE] = {"OSArchitecture", VALUE_STRING},
	[INFO_OS_PLATFORM] = {"OSPlatform", VALUE_STRING},
	[INFO_OS_VERSION] = {"OSVersion", VALUE_STRING},
	[INFO_OS_DISTRIBUTION] = {"OSDistribution", VALUE_STRING},
	[INFO_OS_VERSION_INFO] = {"OSVersionInfo", VALUE_STRING},
	[INFO_DEVICE_CATEGORY] = {"DeviceCategory", VALUE_STRING},
	[INFO_ONBOARDING_STATUS] = {"OnboardingStatus", VALUE_STRING},
	[INFO_SENSOR_HEALTH_STATE] = {"SensorHealthState", VALUE_STRING},
	[INFO_MACHINE_GROUP] = {"MachineGroup", VALUE_STRING},
	[INFO_REPORT_ID] = {"ReportId", VALUE_LONG},
	[INFO_ADDITIONAL_FIELDS] = {"AdditionalFields", VALUE_DYNAMIC},
};

static const struct table_schema info_schema = {"DeviceInfo", INFO_COLUMN_COUNT, info_columns};

const struct table_schema *device_info_schema(void)
{
	return &info_schema;
}

/* ---- health --------------------------------------------------------------- */

static uint64_t counter(json_t *value)
{
	return json_is_integer(value) && json_integer_value(value) > 0
		       ? (uint64_t)json_integer_value(value)
		       : 0;
}

static uint64_t count_losses(json_t *heartbeat)
{
	json_t *losses = json_object_get(heartbeat, "losses");
	json_t *outbox = json_object_get(heartbeat, "outbox");
	const char *name;
	json_t *value;
	uint64_t total = 0;

	json_object_foreach(losses, name, value)
		total += counter(value);
	total += counter(json_object_get(outbox, "dropped_records"));
	total += counter(json_object_get(outbox, "dropped_hits"));
	return total;
}

void device_health_of(const struct store_device *device, json_t *heartbeat, int64_t now,
		      struct device_health *health)
{
	int64_t interval = device->interval_seconds > 0 ? device->interval_seconds
							: STORE_DEFAULT_INTERVAL_SECONDS;
	int64_t heard = device->last_heartbeat ? device->last_heartbeat : device->enrolled_at;

	health->silent = now - heard > WIRE_SILENT_INTERVALS * interval * TICKS_PER_SECOND;
	health->silent_since = heard;
	health->losses = count_losses(heartbeat);
	if (device->revoked)
		health->health = "revoked";
	else if (health->silent)
		health->health = "silent";
	else if (health->losses > 0)
		health->health = "losses";
	else
		health->health = "ok";
}

/* ---- DeviceInfo rows -------------------------------------------------------- */

struct info_row {
	struct value values[INFO_COLUMN_COUNT];
	json_t *heartbeat;
};

struct device_info_source {
	struct kql_source source;
	struct info_row *rows;
	size_t count, next;
};

static json_t *datetime_or_null(int64_t ticks)
{
	struct value value = {.type = VALUE_DATETIME, .is_null = ticks == 0, .ticks = ticks};

	return kql_value_to_json(&value);
}

static const char *heartbeat_text(json_t *heartbeat, const char *key)
{
	const char *text = json_string_value(json_object_get(heartbeat, key));

	return text ? text : "";
}

static struct value text_value(const char *text)
{
	struct value value = {.type = VALUE_STRING, .str = text, .len = strlen(text)};

	return value;
}

/* The agent's health in AdditionalFields: the heartbeat's parts, and ours. */
static json_t *additional_fields(const struct store_device *device, json_t *heartbeat,
				 const struct device_health *health)
{
	json_t *fields = json_object();
	static const char *const copied[] = {"rules", "losses", "cache", "outbox"};

	if (!fields)
		return NULL;
	json_object_set_new(fields, "Health", json_string(health->health));
	json_object_set_new(fields, "Silent", json_boolean(health->silent));
	json_object_set_new(fields, "SilentSince",
			    health->silent ? datetime_or_null(health->silent_since) : json_null());
	json_object_set_new(fields, "LastHeartbeat", datetime_or_null(device->last_heartbeat));
	json_object_set_new(fields, "HeartbeatIntervalSeconds",
			    json_integer(device->interval_seconds));
	json_object_set_new(fields, "Revoked", json_boolean(device->revoked));
	json_object_set_new(fields, "Enrolled", datetime_or_null(device->enrolled_at));
	json_object_set_new(fields, "Records", json_integer(device->records));
	json_object_set_new(fields, "Hits", json_integer(device->hits));
	json_object_set_new(fields, "LossTotal", json_integer((json_int_t)health->losses));
	for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
		json_t *part = json_object_get(heartbeat, copied[i]);
		char key[16];

		snprintf(key, sizeof(key), "%c%s", copied[i][0] - 'a' + 'A', copied[i] + 1);
		json_object_set(fields, key, part ? part : json_null());
	}
	json_object_set_new(fields, "LastError", json_string(heartbeat_text(heartbeat, "last_error")));
	return fields;
}

static const char *sensor_state(const struct device_health *health)
{
	if (health->silent)
		return "Inactive";
	return health->losses > 0 ? "Impaired communications" : "Active";
}

static int fill_row(struct info_row *row, const struct store_device *device, int64_t now)
{
	struct device_health health;
	struct value *values = row->values;

	row->heartbeat = json_loads(device->heartbeat_json, 0, NULL);
	device_health_of(device, row->heartbeat, now, &health);
	for (int i = 0; i < INFO_COLUMN_COUNT; i++)
		values[i] = info_columns[i].type == VALUE_STRING
				    ? text_value("")
				    : (struct value){.type = info_columns[i].type, .is_null = true};
	values[INFO_TIMESTAMP] = (struct value){.type = VALUE_DATETIME,
						 .is_null = device->last_contact == 0,
						 .ticks = device->last_contact};
	values[INFO_DEVICE_ID] = text_value(device->device_id);
	values[INFO_DEVICE_NAME] = text_value(device->device_name);
	values[INFO_CLIENT_VERSION] = text_value(device->agent_version);
	values[INFO_PUBLIC_IP] = text_value(device->peer_address);
	values[INFO_OS_ARCHITECTURE] = text_value(heartbeat_text(row->heartbeat, "architecture"));
	values[INFO_OS_PLATFORM] = text_value("Linux");
	values[INFO_OS_VERSION] = text_value(heartbeat_text(row->heartbeat, "kernel"));
	values[INFO_OS_DISTRIBUTION] = text_value(heartbeat_text(row->heartbeat, "os"));
	values[INFO_OS_VERSION_INFO] = text_value(heartbeat_text(row->heartbeat, "os"));
	values[INFO_DEVICE_CATEGORY] = text_value("Endpoint");
	values[INFO_ONBOARDING_STATUS] = text_value(device->revoked ? "Offboarded" : "Onboarded");
	values[INFO_SENSOR_HEALTH_STATE] = text_value(sensor_state(&health));
	values[INFO_ADDITIONAL_FIELDS] = (struct value){
		.type = VALUE_DYNAMIC, .dyn = additional_fields(device, row->heartbeat, &health)};
	if (!values[INFO_ADDITIONAL_FIELDS].dyn)
		return -ENOMEM;
	return 0;
}

static int next_row(void *context, const struct value **row)
{
	struct device_info_source *source = context;

	if (source->next >= source->count)
		return 0;
	*row = source->rows[source->next++].values;
	return 1;
}

int device_info_source_open(const struct store_device *devices, size_t count, int64_t now,
			    struct device_info_source **out)
{
	struct device_info_source *source = calloc(1, sizeof(*source));

	if (!source || !(source->rows = calloc(count + 1, sizeof(*source->rows)))) {
		free(source);
		return -ENOMEM;
	}
	source->count = count;
	for (size_t i = 0; i < count; i++) {
		if (fill_row(&source->rows[i], &devices[i], now) != 0) {
			source->count = i + 1;
			device_info_source_close(source);
			return -ENOMEM;
		}
	}
	source->source = (struct kql_source){&info_schema, next_row, NULL, source};
	*out = source;
	return 0;
}

const struct kql_source *device_info_source(struct device_info_source *source)
{
	return &source->source;
}

void device_info_source_close(struct device_info_source *source)
{
	if (!source)
		return;
	for (size_t i = 0; i < source->count; i++) {
		json_decref(source->rows[i].values[INFO_ADDITIONAL_FIELDS].dyn);
		json_decref(source->rows[i].heartbeat);
	}
	free(source->rows);
	free(source);
}

/* ---- the device list ---------------------------------------------------------- */

struct listed {
	const struct store_device *device;
	struct device_health health;
	json_t *heartbeat;
};

/* Silent first (the longest silent first), then by DeviceId. */
static int compare_listed(const void *left, const void *right)
{
	const struct listed *a = left, *b = right;

	if (a->health.silent != b->health.silent)
		return a->health.silent ? -1 : 1;
	if (a->health.silent && a->health.silent_since != b->health.silent_since)
		return a->health.silent_since < b->health.silent_since ? -1 : 1;
	return strcmp(a->device->device_id, b->device->device_id);
}

static json_t *listed_json(const struct listed *item)
{
	const struct store_device *device = item->device;
	json_t *object = json_object();

	if (!object)
		return NULL;
	json_object_set_new(object, "DeviceId", json_string(device->device_id));
	json_object_set_new(object, "DeviceName", json_string(device->device_name));
	json_object_set_new(object, "LastContact", datetime_or_null(device->last_contact));
	json_object_set_new(object, "LastHeartbeat", datetime_or_null(device->last_heartbeat));
	json_object_set_new(object, "Silent", json_boolean(item->health.silent));
	json_object_set_new(object, "SilentSince", item->health.silent
							   ? datetime_or_null(item->health.silent_since)
							   : json_null());
	json_object_set_new(object, "AgentVersion", json_string(device->agent_version));
	json_object_set_new(object, "Health", json_string(item->health.health));
	json_object_set_new(object, "Revoked", json_boolean(device->revoked));
	json_object_set_new(object, "Losses", json_integer((json_int_t)item->health.losses));
	json_object_set_new(object, "Records", json_integer(device->records));
	json_object_set_new(object, "Hits", json_integer(device->hits));
	json_object_set_new(object, "OSVersion",
			    json_string(heartbeat_text(item->heartbeat, "kernel")));
	json_object_set_new(object, "LastError",
			    json_string(heartbeat_text(item->heartbeat, "last_error")));
	return object;
}

json_t *device_info_list_json(const struct store_device *devices, size_t count, int64_t now)
{
	struct listed *items = calloc(count + 1, sizeof(*items));
	json_t *list = json_array();
	json_t *answer = NULL;

	if (items && list) {
		for (size_t i = 0; i < count; i++) {
			items[i].device = &devices[i];
			items[i].heartbeat = json_loads(devices[i].heartbeat_json, 0, NULL);
			device_health_of(&devices[i], items[i].heartbeat, now, &items[i].health);
		}
		qsort(items, count, sizeof(*items), compare_listed);
		for (size_t i = 0; i < count; i++)
			json_array_append_new(list, listed_json(&items[i]));
		answer = json_pack("{s:O}", "devices", list);
	}
	for (size_t i = 0; items && i < count; i++)
		json_decref(items[i].heartbeat);
	free(items);
	json_decref(list);
	return answer;
}
