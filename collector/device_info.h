/*
 * device_info.h - what the collector says about a device: its health
 * (silent, losses, revoked), the DeviceInfo table fleet KQL sees, and the
 * device list analysts get from /v1/devices.  Built from the store's
 * device rows and each device's latest heartbeat, whatever the backend.
 *
 * A device is silent when no heartbeat arrived for WIRE_SILENT_INTERVALS
 * of its heartbeat interval (a device that never sent one: counted from
 * its enrollment, at the default interval); SilentSince is the last time
 * it was heard from by heartbeat (or enrolled).
 */
#ifndef RMMHUNT_COLLECTOR_DEVICE_INFO_H
#define RMMHUNT_COLLECTOR_DEVICE_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "kql/kql.h"
#include "store.h"

struct device_health {
	bool silent;
	int64_t silent_since; /* ticks: last heartbeat (or enrollment) */
	uint64_t losses;      /* sum of the loss counters and outbox drops */
	const char *health;   /* "ok", "losses", "silent", "revoked" */
};

/* heartbeat: the parsed latest heartbeat (may be NULL). */
void device_health_of(const struct store_device *device, json_t *heartbeat, int64_t now,
		      struct device_health *health);

/* DeviceInfo, with Defender's column names where they fit. */
const struct table_schema *device_info_schema(void);

/* DeviceInfo rows of devices at now, as a KQL row source. */
struct device_info_source;
int device_info_source_open(const struct store_device *devices, size_t count, int64_t now,
			    struct device_info_source **out);
const struct kql_source *device_info_source(struct device_info_source *source);
void device_info_source_close(struct device_info_source *source);

/* {"devices": [...]} for /v1/devices: silent devices first. */
json_t *device_info_list_json(const struct store_device *devices, size_t count, int64_t now);

#endif
