/*
 * outbox_state.c - outbox.json: read, written, replaced (see outbox_state.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/state_file.h"
#include "outbox_state.h"

#define OUTBOX_STATE_MAX_BYTES 4096

static const char *const kind_names[OUTBOX_KINDS] = {"records", "hits", "summaries"};

static int read_member(json_t *object, const char *name, int64_t *value, char *message,
		       size_t message_size)
{
	json_t *member = json_object_get(object, name);

	*value = 0;
	if (!member)
		return 0;
	if (!json_is_integer(member) || json_integer_value(member) < 0) {
		snprintf(message, message_size, "%s: expected a non-negative integer", name);
		return -EINVAL;
	}
	*value = json_integer_value(member);
	return 0;
}

int outbox_state_parse(const char *text, size_t length, struct outbox_state *state,
		       char *message, size_t message_size)
{
	json_error_t error;
	json_t *root = json_loadb(text, length, JSON_REJECT_DUPLICATES, &error);
	char name[32];
	int64_t schema = 0;
	int result;

	memset(state, 0, sizeof(*state));
	if (!json_is_object(root)) {
		snprintf(message, message_size, "%s", root ? "expected an object" : error.text);
		json_decref(root);
		return -EINVAL;
	}
	result = read_member(root, "schema", &schema, message, message_size);
	if (result == 0 && schema != OUTBOX_STATE_SCHEMA) {
		snprintf(message, message_size, "schema %" PRId64 ": this agent reads schema %d",
			 schema, OUTBOX_STATE_SCHEMA);
		result = -EINVAL;
	}
	if (result == 0)
		result = read_member(root, "cache_id", &state->cache_id, message, message_size);
	for (int kind = 0; kind < OUTBOX_KINDS && result == 0; kind++) {
		int64_t dropped = 0, rejected = 0;

		result = read_member(root, kind_names[kind], &state->acknowledged[kind], message,
				     message_size);
		snprintf(name, sizeof(name), "dropped_%s", kind_names[kind]);
		if (result == 0)
			result = read_member(root, name, &dropped, message, message_size);
		snprintf(name, sizeof(name), "rejected_%s", kind_names[kind]);
		if (result == 0)
			result = read_member(root, name, &rejected, message, message_size);
		state->dropped[kind] = (uint64_t)dropped;
		state->rejected[kind] = (uint64_t)rejected;
	}
	json_decref(root);
	if (result)
		memset(state, 0, sizeof(*state));
	return result;
}

void outbox_state_format(const struct outbox_state *state, struct strbuf *out)
{
	strbuf_appendf(out, "{\"schema\": %d, \"cache_id\": %" PRId64, OUTBOX_STATE_SCHEMA,
		       state->cache_id);
	for (int kind = 0; kind < OUTBOX_KINDS; kind++)
		strbuf_appendf(out, ", \"%s\": %" PRId64, kind_names[kind],
			       state->acknowledged[kind]);
	for (int kind = 0; kind < OUTBOX_KINDS; kind++) {
		if (kind != OUTBOX_SUMMARIES)
			strbuf_appendf(out, ", \"dropped_%s\": %" PRIu64, kind_names[kind],
				       state->dropped[kind]);
		strbuf_appendf(out, ", \"rejected_%s\": %" PRIu64, kind_names[kind],
			       state->rejected[kind]);
	}
	strbuf_append_string(out, "}\n");
}

static int parse_state(const char *text, size_t length, void *state, char *message,
		       size_t message_size)
{
	return outbox_state_parse(text, length, state, message, message_size);
}

int outbox_state_load(const char *path, struct outbox_state *state, char *message,
		      size_t message_size)
{
	memset(state, 0, sizeof(*state));
	return state_file_load(path, OUTBOX_STATE_MAX_BYTES, parse_state, state, message,
			       message_size);
}

static void format_state(const void *state, struct strbuf *out)
{
	outbox_state_format(state, out);
}

int outbox_state_save(const char *path, const struct outbox_state *state)
{
	return state_file_save(path, format_state, state);
}
