/*
 * collector_answer.c - the collector's answers, checked (see
 * collector_answer.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "collector_answer.h"

static json_t *load_object(const char *text, size_t length, char *message, size_t message_size)
{
	json_error_t error;
	json_t *root = json_loadb(text, length, JSON_REJECT_DUPLICATES, &error);

	if (json_is_object(root))
		return root;
	if (root)
		snprintf(message, message_size, "the collector's answer is not a JSON object");
	else
		snprintf(message, message_size, "the collector's answer is not JSON: %.80s",
			 error.text);
	json_decref(root);
	return NULL;
}

static int read_count(json_t *root, const char *name, uint64_t *value, char *message,
		      size_t message_size)
{
	json_t *member = json_object_get(root, name);

	if (!json_is_integer(member) || json_integer_value(member) < 0) {
		snprintf(message, message_size, "the collector's answer: %s: expected a count",
			 name);
		return -EINVAL;
	}
	*value = (uint64_t)json_integer_value(member);
	return 0;
}

int collector_answer_events(const char *text, size_t length, struct events_answer *answer,
			    char *message, size_t message_size)
{
	json_t *root = load_object(text, length, message, message_size);
	int result;

	memset(answer, 0, sizeof(*answer));
	if (!root)
		return -EINVAL;
	result = read_count(root, "records", &answer->records, message, message_size);
	if (result == 0)
		result = read_count(root, "hits", &answer->hits, message, message_size);
	if (result == 0)
		result = read_count(root, "summaries", &answer->summaries, message, message_size);
	if (result == 0)
		result = read_count(root, "duplicates", &answer->duplicates, message, message_size);
	json_decref(root);
	return result;
}

static bool base64url_character(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

int collector_answer_check_key(const char *text)
{
	size_t length = 0;

	for (; text[length]; length++)
		if (length >= WIRE_DEVICE_KEY_TEXT || !base64url_character(text[length]))
			return -EINVAL;
	return length == WIRE_DEVICE_KEY_TEXT ? 0 : -EINVAL;
}

int collector_answer_enroll(const char *text, size_t length, const char *device_id,
			    char key[WIRE_DEVICE_KEY_TEXT + 1], char *message,
			    size_t message_size)
{
	json_t *root = load_object(text, length, message, message_size);
	const char *answered_id, *answered_key;
	int result = -EINVAL;

	key[0] = '\0';
	if (!root)
		return -EINVAL;
	answered_id = json_string_value(json_object_get(root, "device_id"));
	answered_key = json_string_value(json_object_get(root, "device_key"));
	if (!answered_id || strcmp(answered_id, device_id) != 0)
		snprintf(message, message_size,
			 "the collector's enrollment answer names another device_id");
	else if (!answered_key || collector_answer_check_key(answered_key) != 0)
		snprintf(message, message_size,
			 "the collector's enrollment answer has no device_key of %d base64url "
			 "characters", WIRE_DEVICE_KEY_TEXT);
	else {
		memcpy(key, answered_key, WIRE_DEVICE_KEY_TEXT + 1);
		result = 0;
	}
	json_decref(root);
	return result;
}

void collector_answer_error(const char *text, size_t length, char *message,
			    size_t message_size)
{
	json_t *root = json_loadb(text, length, 0, NULL);
	const char *said = json_string_value(json_object_get(json_object_get(root, "error"),
							     "message"));

	snprintf(message, message_size, "%.*s", COLLECTOR_ANSWER_ECHO_MAX, said ? said : "");
	json_decref(root);
}
