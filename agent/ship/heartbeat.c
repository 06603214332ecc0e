/*
 * heartbeat.c - the heartbeat's body (see heartbeat.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <jansson.h>

#include "base/timefmt.h"
#include "base/version.h"
#include "heartbeat.h"
#include "wire/wire.h"

#define OS_RELEASE "/etc/os-release"

/* PRETTY_NAME="Debian GNU/Linux 12 (bookworm)" -> the text inside quotes. */
static void read_os_name(char *out, size_t size)
{
	FILE *file = fopen(OS_RELEASE, "re");
	char line[256];

	snprintf(out, size, "Linux");
	if (!file)
		return;
	while (fgets(line, sizeof(line), file)) {
		char *value;
		size_t length;

		if (strncmp(line, "PRETTY_NAME=", 12) != 0)
			continue;
		value = line + 12;
		length = strcspn(value, "\n");
		if (length >= 2 && (value[0] == '"' || value[0] == '\'') &&
		    value[length - 1] == value[0]) {
			value++;
			length -= 2;
		}
		snprintf(out, size, "%.*s", (int)length, value);
		break;
	}
	fclose(file);
}

void heartbeat_host_facts(struct host_facts *host)
{
	struct utsname names;

	memset(host, 0, sizeof(*host));
	if (uname(&names) == 0) {
		snprintf(host->kernel, sizeof(host->kernel), "%s", names.release);
		snprintf(host->architecture, sizeof(host->architecture), "%s", names.machine);
	}
	read_os_name(host->os, sizeof(host->os));
}

static json_t *datetime_or_null(int64_t ticks)
{
	char text[TIMEFMT_ISO_SIZE];

	return ticks ? json_string(timefmt_iso(ticks, text)) : json_null();
}

/* Copies of what status.json says: rules, losses, cache bytes. */
static void add_status_parts(json_t *body, const char *status_json, json_t *cache)
{
	json_t *status = status_json ? json_loads(status_json, 0, NULL) : NULL;
	json_t *rules = json_object(), *losses = json_object_get(status, "losses");
	json_t *status_rules = json_object_get(status, "rules");

	json_object_set_new(rules, "loaded",
			    json_integer(json_integer_value(json_object_get(status_rules, "loaded"))));
	json_object_set_new(rules, "skipped",
			    json_integer(json_integer_value(json_object_get(status_rules, "skipped"))));
	json_object_set_new(body, "rules", rules);
	json_object_set(body, "losses", json_is_object(losses) ? losses : json_object());
	json_object_set_new(cache, "bytes",
			    json_integer(json_integer_value(
				    json_object_get(json_object_get(status, "cache"), "data_bytes"))));
	json_decref(status);
}

static json_t *outbox_json(const struct heartbeat_facts *facts)
{
	const struct outbox_state *cursors = facts->cursors;
	json_t *outbox = json_object();

	json_object_set_new(outbox, "records", json_integer(facts->outbox_records));
	json_object_set_new(outbox, "hits", json_integer(facts->outbox_hits));
	json_object_set_new(outbox, "oldest", datetime_or_null(facts->outbox_oldest_ticks));
	json_object_set_new(outbox, "dropped_records",
			    json_integer((json_int_t)cursors->dropped[OUTBOX_RECORDS]));
	json_object_set_new(outbox, "dropped_hits",
			    json_integer((json_int_t)cursors->dropped[OUTBOX_HITS]));
	json_object_set_new(outbox, "rejected_records",
			    json_integer((json_int_t)cursors->rejected[OUTBOX_RECORDS]));
	json_object_set_new(outbox, "rejected_hits",
			    json_integer((json_int_t)cursors->rejected[OUTBOX_HITS]));
	json_object_set_new(outbox, "rejected_summaries",
			    json_integer((json_int_t)cursors->rejected[OUTBOX_SUMMARIES]));
	return outbox;
}

int heartbeat_build(const struct heartbeat_facts *facts, struct strbuf *out)
{
	json_t *body = json_object(), *cache = json_object();
	char sent[TIMEFMT_ISO_SIZE];
	char *text;

	json_object_set_new(body, "schema", json_integer(WIRE_SCHEMA_VERSION));
	json_object_set_new(body, "device_id", json_string(facts->identity->device_id));
	json_object_set_new(body, "device_name", json_string(facts->identity->device_name));
	json_object_set_new(body, "sent", json_string(timefmt_iso(facts->now_ticks, sent)));
	json_object_set_new(body, "interval_seconds", json_integer(facts->interval_seconds));
	json_object_set_new(body, "agent_version", json_string(RMMHUNT_VERSION));
	json_object_set_new(body, "kernel", json_string(facts->host->kernel));
	json_object_set_new(body, "os", json_string(facts->host->os));
	json_object_set_new(body, "architecture", json_string(facts->host->architecture));
	add_status_parts(body, facts->status_json, cache);
	json_object_set_new(cache, "records", json_integer(facts->cache_records));
	json_object_set_new(cache, "oldest", datetime_or_null(facts->cache_oldest_ticks));
	json_object_set_new(body, "cache", cache);
	json_object_set_new(body, "outbox", outbox_json(facts));
	json_object_set_new(body, "last_error", json_string(facts->last_error));
	text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(body);
	if (!text)
		return -ENOMEM;
	strbuf_append_string(out, text);
	free(text);
	return out->failed ? -ENOMEM : 0;
}
