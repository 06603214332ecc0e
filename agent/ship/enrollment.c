/*
 * enrollment.c - enrollment.json and the enrollment request (see
 * enrollment.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "base/json_writer.h"
#include "base/log.h"
#include "base/state_file.h"
#include "base/timefmt.h"
#include "collector_answer.h"
#include "enrollment.h"

#define ENROLLMENT_MAX_BYTES 4096

static bool is_device_id(const char *text)
{
	size_t length = strlen(text);

	if (length != DEVICE_ID_SIZE - 1)
		return false;
	for (size_t i = 0; i < length; i++)
		if (!isxdigit((unsigned char)text[i]) || isupper((unsigned char)text[i]))
			return false;
	return true;
}

static int copy_member(json_t *root, const char *name, char *out, size_t size, char *message,
		       size_t message_size)
{
	const char *text = json_string_value(json_object_get(root, name));

	if (!text || strlen(text) >= size) {
		snprintf(message, message_size, "%s: expected a string of at most %zu bytes", name,
			 size - 1);
		return -EINVAL;
	}
	memcpy(out, text, strlen(text) + 1);
	return 0;
}

static int check_members(const struct enrollment *enrollment, char *message,
			 size_t message_size)
{
	if (!is_device_id(enrollment->device_id)) {
		snprintf(message, message_size, "device_id: expected 40 lower-case hex digits");
		return -EINVAL;
	}
	if (collector_answer_check_key(enrollment->device_key) != 0) {
		snprintf(message, message_size, "device_key: expected %d base64url characters",
			 WIRE_DEVICE_KEY_TEXT);
		return -EINVAL;
	}
	return 0;
}

int enrollment_parse(const char *text, size_t length, struct enrollment *enrollment,
		     char *message, size_t message_size)
{
	json_error_t error;
	json_t *root = json_loadb(text, length, JSON_REJECT_DUPLICATES, &error);
	json_t *schema = json_object_get(root, "schema");
	const char *enrolled;
	int result = -EINVAL;

	memset(enrollment, 0, sizeof(*enrollment));
	if (!json_is_object(root))
		snprintf(message, message_size, "%s", root ? "expected an object" : error.text);
	else if (!json_is_integer(schema) || json_integer_value(schema) != ENROLLMENT_SCHEMA)
		snprintf(message, message_size, "schema: expected %d", ENROLLMENT_SCHEMA);
	else
		result = 0;
	if (result == 0)
		result = copy_member(root, "collector", enrollment->collector,
				     sizeof(enrollment->collector), message, message_size);
	if (result == 0)
		result = copy_member(root, "device_id", enrollment->device_id,
				     sizeof(enrollment->device_id), message, message_size);
	if (result == 0)
		result = copy_member(root, "device_key", enrollment->device_key,
				     sizeof(enrollment->device_key), message, message_size);
	if (result == 0)
		result = check_members(enrollment, message, message_size);
	enrolled = json_string_value(json_object_get(root, "enrolled"));
	if (result == 0 && enrolled &&
	    timefmt_parse_iso(enrolled, strlen(enrolled), &enrollment->enrolled_ticks) != 0)
		enrollment->enrolled_ticks = 0;
	json_decref(root);
	if (result)
		memset(enrollment, 0, sizeof(*enrollment));
	return result;
}

void enrollment_format(const struct enrollment *enrollment, struct strbuf *out)
{
	struct json_writer json;
	char enrolled[TIMEFMT_ISO_SIZE];

	json_writer_init(&json, out);
	json_write_object_begin(&json);
	json_write_key(&json, "schema");
	json_write_integer(&json, ENROLLMENT_SCHEMA);
	json_write_key(&json, "collector");
	json_write_cstring(&json, enrollment->collector);
	json_write_key(&json, "device_id");
	json_write_cstring(&json, enrollment->device_id);
	json_write_key(&json, "device_key");
	json_write_cstring(&json, enrollment->device_key);
	json_write_key(&json, "enrolled");
	json_write_cstring(&json, timefmt_iso(enrollment->enrolled_ticks, enrolled));
	json_write_object_end(&json);
	strbuf_append_char(out, '\n');
}

static int parse_enrollment(const char *text, size_t length, void *enrollment, char *message,
			    size_t message_size)
{
	return enrollment_parse(text, length, enrollment, message, message_size);
}

int enrollment_load(const char *path, struct enrollment *enrollment, char *message,
		    size_t message_size)
{
	memset(enrollment, 0, sizeof(*enrollment));
	return state_file_load(path, ENROLLMENT_MAX_BYTES, parse_enrollment, enrollment, message,
			       message_size);
}

static void format_enrollment(const void *enrollment, struct strbuf *out)
{
	enrollment_format(enrollment, out);
}

int enrollment_save(const char *path, const struct enrollment *enrollment)
{
	return state_file_save(path, format_enrollment, enrollment);
}

int enrollment_read_secret(const char *path, char **secret, char *message,
			   size_t message_size)
{
	char *text = NULL, *start, *end;
	size_t length = 0;
	struct stat status;
	int result = state_file_read(path, ENROLLMENT_SECRET_MAX, &text, &length);

	*secret = NULL;
	if (result) {
		snprintf(message, message_size, "cannot read the enrollment secret %s: %s", path,
			 strerror(-result));
		return result;
	}
	if (stat(path, &status) == 0 && (status.st_mode & 0077))
		log_warning("the enrollment secret %s can be read by other users than its owner "
			    "(chmod 600 it)", path);
	start = text;
	end = strchr(start, '\n');
	if (end)
		*end = '\0';
	while (isspace((unsigned char)*start))
		start++;
	length = strlen(start);
	while (length > 0 && isspace((unsigned char)start[length - 1]))
		start[--length] = '\0';
	if (length == 0) {
		snprintf(message, message_size, "the enrollment secret %s is empty", path);
		free(text);
		return -EINVAL;
	}
	for (size_t i = 0; i < length; i++) {
		if (start[i] < 0x20 || start[i] > 0x7e) {
			snprintf(message, message_size,
				 "the enrollment secret %s holds a byte that is not printable ASCII",
				 path);
			free(text);
			return -EINVAL;
		}
	}
	memmove(text, start, length + 1);
	*secret = text;
	return 0;
}

void enrollment_request_body(struct strbuf *out, const char *secret,
			     const struct device_identity *identity, const char *agent_version)
{
	struct json_writer json;

	json_writer_init(&json, out);
	json_write_object_begin(&json);
	json_write_key(&json, "schema");
	json_write_integer(&json, WIRE_SCHEMA_VERSION);
	json_write_key(&json, "enroll_secret");
	json_write_cstring(&json, secret);
	json_write_key(&json, "device_id");
	json_write_cstring(&json, identity->device_id);
	json_write_key(&json, "device_name");
	json_write_cstring(&json, identity->device_name);
	json_write_key(&json, "agent_version");
	json_write_cstring(&json, agent_version);
	json_write_object_end(&json);
}
