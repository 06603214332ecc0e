/*
 * ship_status.c - status.json's "outbox" section (see ship_status.h).
 */
#include "base/timefmt.h"
#include "ship_status.h"

static json_t *datetime_or_null(int64_t ticks)
{
	char text[TIMEFMT_ISO_SIZE];

	return ticks ? json_string(timefmt_iso(ticks, text)) : json_null();
}

static void set_count(json_t *object, const char *name, int64_t value)
{
	json_object_set_new(object, name, json_integer((json_int_t)value));
}

json_t *ship_status_json(struct shipper *shipper)
{
	static const char *const kinds[3] = {"records", "hits", "summaries"};
	struct shipper_stats stats;
	json_t *section = json_object();
	char name[40];

	json_object_set_new(section, "shipping", json_boolean(shipper != NULL));
	if (!shipper)
		return section;
	shipper_read_stats(shipper, &stats);
	json_object_set_new(section, "collector", json_string(stats.collector));
	json_object_set_new(section, "state", json_string(stats.state ? stats.state : ""));
	json_object_set_new(section, "ship", json_string(stats.hits_only ? "hits" : "all"));
	json_object_set_new(section, "enrolled", json_boolean(stats.enrolled));
	for (int kind = 0; kind < 3; kind++)
		set_count(section, kinds[kind], stats.pending[kind]);
	json_object_set_new(section, "oldest", datetime_or_null(stats.oldest_pending_ticks));
	for (int kind = 0; kind < 3; kind++) {
		snprintf(name, sizeof(name), "acknowledged_%s", kinds[kind]);
		set_count(section, name, stats.acknowledged[kind]);
	}
	for (int kind = 0; kind < 2; kind++) {
		snprintf(name, sizeof(name), "dropped_%s", kinds[kind]);
		set_count(section, name, (int64_t)stats.dropped[kind]);
	}
	for (int kind = 0; kind < 3; kind++) {
		snprintf(name, sizeof(name), "rejected_%s", kinds[kind]);
		set_count(section, name, (int64_t)stats.rejected[kind]);
	}
	set_count(section, "batches", (int64_t)stats.batches);
	set_count(section, "records_sent", (int64_t)stats.records_sent);
	set_count(section, "hits_sent", (int64_t)stats.hits_sent);
	set_count(section, "summaries_sent", (int64_t)stats.summaries_sent);
	set_count(section, "duplicates", (int64_t)stats.duplicates);
	set_count(section, "bytes_sent", (int64_t)stats.bytes_sent);
	set_count(section, "heartbeats", (int64_t)stats.heartbeats);
	set_count(section, "failures", (int64_t)stats.failures);
	set_count(section, "splits", (int64_t)stats.splits);
	set_count(section, "enrollments", (int64_t)stats.enrollments);
	set_count(section, "retry_after_seconds", stats.retry_after_seconds);
	set_count(section, "next_attempt_ms", stats.next_attempt_ms);
	json_object_set_new(section, "last_success", datetime_or_null(stats.last_success_ticks));
	json_object_set_new(section, "last_error", json_string(stats.last_error));
	json_object_set_new(section, "last_error_at", datetime_or_null(stats.last_error_ticks));
	return section;
}
