/*
 * api.c - the endpoints (api.h): enroll, events, heartbeat, query, devices,
 * healthz, metrics.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "api.h"
#include "batch_decoding.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "device_info.h"
#include "kql/kql_format.h"
#include "wire/wire.h"

#define HEARTBEAT_MAX_INTERVAL_SECONDS 86400
#define QUERY_MAX_TEXT (1 << 20)

/* ---- answers --------------------------------------------------------------- */

void api_response_init(struct api_response *response)
{
	response->status = 500;
	response->content_type = "application/json";
	response->retry_after = 0;
	strbuf_init(&response->body);
}

void api_response_free(struct api_response *response)
{
	strbuf_free(&response->body);
}

void api_error(struct api_response *response, int status, const char *format, ...)
{
	char message[400];
	va_list arguments;
	json_t *error;
	char *text;

	va_start(arguments, format);
	vsnprintf(message, sizeof(message), format, arguments);
	va_end(arguments);
	error = json_pack("{s:{s:i,s:s}}", "error", "code", status, "message", message);
	text = error ? json_dumps(error, JSON_COMPACT) : NULL;
	response->status = status;
	response->content_type = "application/json";
	strbuf_clear(&response->body);
	strbuf_append_string(&response->body, text ? text : "{}");
	strbuf_append_char(&response->body, '\n');
	free(text);
	json_decref(error);
	if (status == 503 && response->retry_after == 0)
		response->retry_after = 1;
}

/* A JSON answer (takes the reference). */
static void answer_json(struct api_response *response, int status, json_t *json)
{
	char *text = json ? json_dumps(json, JSON_COMPACT) : NULL;

	json_decref(json);
	if (!text) {
		api_error(response, 500, "out of memory");
		return;
	}
	response->status = status;
	response->content_type = "application/json";
	strbuf_clear(&response->body);
	strbuf_append_string(&response->body, text);
	strbuf_append_char(&response->body, '\n');
	free(text);
}

static void answer_text(struct api_response *response, int status, const char *type,
			const char *text)
{
	response->status = status;
	response->content_type = type;
	strbuf_clear(&response->body);
	strbuf_append_string(&response->body, text);
}

/* A store failure: busy -> 503 (the client retries), else 500. */
static void store_failed(struct api_context *context, struct api_response *response, int result,
			 const char *what)
{
	metrics_add(COUNTER_STORE_ERRORS, 1);
	if (result == -EBUSY) {
		response->retry_after = context->limits.retry_after_seconds;
		api_error(response, 503, "the store is busy: %s later", what);
		return;
	}
	log_error("store: %s: %s", what, strerror(-result));
	api_error(response, 500, "the store failed: %s", strerror(-result));
}

/* ---- routing and credentials ------------------------------------------------- */

static const struct {
	const char *path;
	const char *method;
	enum metrics_endpoint endpoint;
} routes[] = {
	{WIRE_PATH_ENROLL, "POST", ENDPOINT_ENROLL},
	{WIRE_PATH_EVENTS, "POST", ENDPOINT_EVENTS},
	{WIRE_PATH_HEARTBEAT, "POST", ENDPOINT_HEARTBEAT},
	{WIRE_PATH_QUERY, "POST", ENDPOINT_QUERY},
	{WIRE_PATH_DEVICES, "GET", ENDPOINT_DEVICES},
	{WIRE_PATH_HEALTH, "GET", ENDPOINT_HEALTH},
	{WIRE_PATH_METRICS, "GET", ENDPOINT_METRICS},
};

int api_route(const char *method, const char *path, enum metrics_endpoint *endpoint,
	      struct api_response *response)
{
	*endpoint = ENDPOINT_OTHER;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(path, routes[i].path) != 0)
			continue;
		*endpoint = routes[i].endpoint;
		if (strcmp(method, routes[i].method) == 0 ||
		    (strcmp(method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0))
			return 0;
		api_error(response, 405, "%s takes %s", routes[i].path, routes[i].method);
		return 405;
	}
	api_error(response, 404, "no such endpoint");
	return 404;
}

bool api_takes_body(enum metrics_endpoint endpoint)
{
	return endpoint == ENDPOINT_ENROLL || endpoint == ENDPOINT_EVENTS ||
	       endpoint == ENDPOINT_HEARTBEAT || endpoint == ENDPOINT_QUERY;
}

/* "Bearer TOKEN" -> TOKEN (NULL when absent or another scheme). */
static const char *bearer(const char *authorization, size_t *length)
{
	if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
		return NULL;
	authorization += 7;
	while (*authorization == ' ')
		authorization++;
	*length = strlen(authorization);
	while (*length > 0 && authorization[*length - 1] == ' ')
		(*length)--;
	return *length ? authorization : NULL;
}

/* Is the bearer a device key the store knows?  1 yes (device_id), 0, -errno. */
static int find_device_key(struct api_context *context, const char *token, size_t length,
			   char device_id[BATCH_ID_MAX + 1], bool *revoked)
{
	unsigned char hash[STORE_KEY_HASH_BYTES];
	int result;

	if (!secrets_looks_like_device_key(token, length))
		return 0;
	secrets_hash_key(token, length, hash);
	result = store_lookup_key(context->store, hash, device_id, revoked);
	return result == 0 ? 1 : result == -ENOENT ? 0 : result;
}

static int authenticate_device(struct api_context *context, struct api_request *request,
			       const char *token, size_t length, const char *certificate_device,
			       struct api_response *response)
{
	bool revoked = false;
	int found;

	if (!token && certificate_device) {
		found = store_check_certificate_device(context->store, certificate_device,
						       timefmt_now_ticks());
		if (found == -EPERM) {
			api_error(response, 401, "this device is revoked");
			return 401;
		}
		if (found < 0) {
			store_failed(context, response, found, "checking the device");
			return response->status;
		}
		snprintf(request->device_id, sizeof(request->device_id), "%s", certificate_device);
		return 0;
	}
	if (!token) {
		api_error(response, 401, "no credentials: send Authorization: Bearer DEVICE_KEY");
		return 401;
	}
	found = find_device_key(context, token, length, request->device_id, &revoked);
	if (found < 0) {
		store_failed(context, response, found, "looking up the device key");
		return response->status;
	}
	if (found && revoked) {
		api_error(response, 401, "this device is revoked");
		return 401;
	}
	if (found)
		return 0;
	if (secrets_is_analyst_token(context->secrets, token, length)) {
		api_error(response, 403, "an analyst token cannot write");
		return 403;
	}
	api_error(response, 401, "unknown device key");
	return 401;
}

static int authenticate_analyst(struct api_context *context, struct api_request *request,
				const char *token, size_t length, struct api_response *response)
{
	bool revoked = false;
	int found;

	if (!token) {
		api_error(response, 401, "no credentials: send Authorization: Bearer ANALYST_TOKEN");
		return 401;
	}
	if (secrets_is_analyst_token(context->secrets, token, length))
		return 0;
	found = find_device_key(context, token, length, request->device_id, &revoked);
	request->device_id[0] = '\0';
	if (found > 0 && !revoked) {
		api_error(response, 403, "a device key cannot query or list devices");
		return 403;
	}
	if (found < 0) {
		store_failed(context, response, found, "checking the credentials");
		return response->status;
	}
	api_error(response, 401, "unknown analyst token");
	return 401;
}

int api_authenticate(struct api_context *context, struct api_request *request,
		     const char *authorization, const char *certificate_device,
		     struct api_response *response)
{
	size_t length = 0;
	const char *token = bearer(authorization, &length);

	request->device_id[0] = '\0';
	switch (request->endpoint) {
	case ENDPOINT_EVENTS:
	case ENDPOINT_HEARTBEAT:
		return authenticate_device(context, request, token, length, certificate_device,
					   response);
	case ENDPOINT_QUERY:
	case ENDPOINT_DEVICES:
		return authenticate_analyst(context, request, token, length, response);
	case ENDPOINT_ENROLL:
		if (token && secrets_is_analyst_token(context->secrets, token, length)) {
			api_error(response, 403, "an analyst token cannot enroll");
			return 403;
		}
		return 0;
	default:
		return 0;
	}
}

/* ---- bodies ----------------------------------------------------------------- */

/* The request's body as text: gunzipped (capped) when it came gzip'd. */
static int body_text(struct api_context *context, const struct api_request *request,
		     struct strbuf *scratch, const char **text, size_t *length,
		     struct api_response *response)
{
	struct batch_error error = {0};
	int result;

	if (!request->gzip) {
		if (request->body_length > context->limits.max_decompressed) {
			api_error(response, 413, "the body is larger than %zu bytes",
				  context->limits.max_decompressed);
			return -EFBIG;
		}
		*text = request->body;
		*length = request->body_length;
		return 0;
	}
	result = batch_gunzip(request->body, request->body_length,
			      context->limits.max_decompressed, scratch, &error);
	if (result == -ENOMEM) {
		api_error(response, 500, "out of memory");
		return result;
	}
	if (result) {
		api_error(response, error.status, "%s", error.message);
		return result;
	}
	metrics_add(COUNTER_BYTES_DECOMPRESSED, scratch->length);
	*text = scratch->data ? scratch->data : "";
	*length = scratch->length;
	return 0;
}

/* A JSON object body, or an answer saying why not. */
static json_t *json_body(struct api_context *context, const struct api_request *request,
			 struct api_response *response)
{
	struct strbuf scratch;
	json_error_t error;
	const char *text;
	size_t length;
	json_t *json = NULL;

	strbuf_init(&scratch);
	if (body_text(context, request, &scratch, &text, &length, response) == 0) {
		json = json_loadb(text, length, JSON_REJECT_DUPLICATES, &error);
		if (!json)
			api_error(response, 400, "not JSON: line %d, column %d", error.line,
				  error.column);
		else if (!json_is_object(json)) {
			api_error(response, 400, "expected a JSON object");
			json_decref(json);
			json = NULL;
		}
	}
	strbuf_free(&scratch);
	return json;
}

/* The body's "schema" must be ours. */
static bool check_schema(json_t *body, struct api_response *response)
{
	json_t *schema = json_object_get(body, "schema");

	if (!json_is_integer(schema)) {
		api_error(response, 400, "schema: %s", schema ? "expected an integer" : "missing");
		return false;
	}
	if (json_integer_value(schema) != WIRE_SCHEMA_VERSION) {
		api_error(response, 400, "schema: unknown schema version %lld (this collector reads %d)",
			  (long long)json_integer_value(schema), WIRE_SCHEMA_VERSION);
		return false;
	}
	return true;
}

/* A string member; required ones answer 400 when missing. */
static const char *string_member(json_t *body, const char *key, bool required,
				 struct api_response *response)
{
	json_t *member = json_object_get(body, key);

	if (!member && !required)
		return "";
	if (!json_is_string(member)) {
		api_error(response, 400, "%s: %s", key, member ? "expected a string" : "missing");
		return NULL;
	}
	return json_string_value(member);
}

static const char *identifier_member(json_t *body, const char *key, struct api_response *response)
{
	const char *text = string_member(body, key, true, response);

	if (text && !batch_check_identifier(text, strlen(text))) {
		api_error(response, 400, "%s: expected 1 to %d characters of A-Z a-z 0-9 . _ : -",
			  key, BATCH_ID_MAX);
		return NULL;
	}
	return text;
}

/* ---- POST /v1/enroll ------------------------------------------------------------ */

static void handle_enroll(struct api_context *context, const struct api_request *request,
			  struct api_response *response)
{
	json_t *body = json_body(context, request, response);
	const char *secret, *device_id = NULL, *device_name = NULL, *version = NULL;
	char key[WIRE_DEVICE_KEY_TEXT + 1];
	unsigned char hash[STORE_KEY_HASH_BYTES];
	int result;

	if (!body || !check_schema(body, response))
		goto done;
	secret = string_member(body, "enroll_secret", true, response);
	if (!secret)
		goto done;
	if (!secrets_is_enroll_secret(context->secrets, secret, strlen(secret))) {
		api_error(response, 401, "wrong enrollment secret");
		goto done;
	}
	if (!(device_id = identifier_member(body, "device_id", response)) ||
	    !(device_name = string_member(body, "device_name", true, response)) ||
	    !(version = string_member(body, "agent_version", false, response)))
		goto done;
	if (secrets_new_device_key(key) != 0) {
		api_error(response, 500, "no random bytes for a device key");
		goto done;
	}
	secrets_hash_key(key, strlen(key), hash);
	result = store_enroll(context->store, device_id, device_name, version, hash,
			      timefmt_now_ticks());
	if (result == -EPERM) {
		api_error(response, 401, "this device is revoked: an administrator must allow it"
					 " again (rmmhunt-collector devices allow)");
	} else if (result) {
		store_failed(context, response, result, "enrolling");
	} else {
		metrics_add(COUNTER_ENROLLMENTS, 1);
		log_info("enrolled device %s", device_id);
		answer_json(response, 200,
			    json_pack("{s:s,s:s}", "device_id", device_id, "device_key", key));
	}
	explicit_bzero(key, sizeof(key));
done:
	json_decref(body);
}

/* ---- POST /v1/events ------------------------------------------------------------ */

static double monotonic_seconds(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static void store_decoded_batch(struct api_context *context, const struct api_request *request,
				const struct batch *batch, struct api_response *response)
{
	struct store_batch_result stored = {0};
	int result;

	if (strcmp(batch->device_id, request->device_id) != 0) {
		api_error(response, 403, "device_id: these credentials may write only their own"
					 " DeviceId");
		return;
	}
	result = store_put_batch(context->store, batch, request->peer, timefmt_now_ticks(),
				 &stored);
	if (result) {
		store_failed(context, response, result, "storing the batch");
		return;
	}
	metrics_add(COUNTER_BATCHES, 1);
	metrics_add(COUNTER_RECORDS, stored.records);
	metrics_add(COUNTER_HITS, stored.hits);
	metrics_add(COUNTER_SUMMARIES, stored.summaries);
	metrics_add(COUNTER_DUPLICATES, stored.duplicates);
	metrics_observe_batch(monotonic_seconds() - request->body_done);
	answer_json(response, 200,
		    json_pack("{s:s,s:I,s:I,s:I,s:I}", "batch", batch->id, "records",
			      (json_int_t)stored.records, "hits", (json_int_t)stored.hits,
			      "summaries", (json_int_t)stored.summaries, "duplicates",
			      (json_int_t)stored.duplicates));
}

/* The body gunzipped (when it came gzip'd) and decoded. */
static int decode_events(struct api_context *context, const struct api_request *request,
			 struct strbuf *scratch, struct batch *batch, struct batch_error *error,
			 struct api_response *response)
{
	const struct api_limits *limits = &context->limits;
	int result;

	if (!request->gzip) {
		const char *text;
		size_t length;

		if (body_text(context, request, scratch, &text, &length, response) != 0)
			return -EINVAL;
		return batch_decoding_run(text, length, BATCH_DECODING_SPLIT_BYTES, batch, error);
	}
	result = batch_decoding_gunzip(request->body, request->body_length, limits->max_decompressed,
				       BATCH_DECODING_SPLIT_BYTES, scratch, batch, error);
	if (result == 0 || error->line != 0) /* the gunzip worked */
		metrics_add(COUNTER_BYTES_DECOMPRESSED, scratch->length);
	return result;
}

static void handle_events(struct api_context *context, const struct api_request *request,
			  struct api_response *response)
{
	struct strbuf scratch;
	struct batch batch = {0};
	struct batch_error error = {0};
	int result;

	strbuf_init(&scratch);
	result = decode_events(context, request, &scratch, &batch, &error, response);
	if (result == -ENOMEM)
		api_error(response, 500, "out of memory");
	else if (result && error.status)
		api_error(response, error.status, "%s", error.message);
	else if (result == 0)
		store_decoded_batch(context, request, &batch, response);
	batch_free(&batch);
	strbuf_free(&scratch);
}

/* ---- POST /v1/heartbeat ------------------------------------------------------------ */

/* An object member whose members are all counters (or null). */
static bool check_counters(json_t *body, const char *key, bool required,
			   struct api_response *response)
{
	json_t *object = json_object_get(body, key), *value;
	const char *name;

	if (!object && !required)
		return true;
	if (!json_is_object(object)) {
		api_error(response, 400, "%s: %s", key, object ? "expected an object" : "missing");
		return false;
	}
	json_object_foreach(object, name, value) {
		if (!json_is_integer(value) && !json_is_null(value) && !json_is_string(value)) {
			api_error(response, 400, "%s.%.64s: expected an integer", key, name);
			return false;
		}
		if (json_is_string(value) &&
		    timefmt_parse_iso(json_string_value(value), json_string_length(value),
				      &(int64_t){0}) != 0) {
			api_error(response, 400, "%s.%.64s: expected an integer or a datetime", key,
				  name);
			return false;
		}
	}
	return true;
}

static bool check_heartbeat(json_t *body, const struct api_request *request,
			    struct store_heartbeat *heartbeat, struct api_response *response)
{
	json_t *interval = json_object_get(body, "interval_seconds");
	const char *sent;

	if (!check_schema(body, response) ||
	    !(heartbeat->device_id = identifier_member(body, "device_id", response)) ||
	    !(heartbeat->device_name = string_member(body, "device_name", true, response)) ||
	    !(heartbeat->agent_version = string_member(body, "agent_version", true, response)) ||
	    !(sent = string_member(body, "sent", true, response)) ||
	    !string_member(body, "kernel", false, response) ||
	    !string_member(body, "os", false, response) ||
	    !string_member(body, "architecture", false, response) ||
	    !string_member(body, "last_error", false, response) ||
	    !check_counters(body, "rules", false, response) ||
	    !check_counters(body, "losses", true, response) ||
	    !check_counters(body, "cache", false, response) ||
	    !check_counters(body, "outbox", false, response))
		return false;
	if (timefmt_parse_iso(sent, strlen(sent), &(int64_t){0}) != 0) {
		api_error(response, 400, "sent: expected a datetime string");
		return false;
	}
	if (!json_is_integer(interval) || json_integer_value(interval) < 1 ||
	    json_integer_value(interval) > HEARTBEAT_MAX_INTERVAL_SECONDS) {
		api_error(response, 400, "interval_seconds: expected an integer from 1 to %d",
			  HEARTBEAT_MAX_INTERVAL_SECONDS);
		return false;
	}
	if (strcmp(heartbeat->device_id, request->device_id) != 0) {
		api_error(response, 403, "device_id: these credentials may write only their own"
					 " DeviceId");
		return false;
	}
	heartbeat->interval_seconds = json_integer_value(interval);
	heartbeat->peer_address = request->peer;
	return true;
}

static void handle_heartbeat(struct api_context *context, const struct api_request *request,
			     struct api_response *response)
{
	json_t *body = json_body(context, request, response);
	struct store_heartbeat heartbeat = {0};
	char *text = NULL;
	int result;

	if (!body || !check_heartbeat(body, request, &heartbeat, response))
		goto done;
	text = json_dumps(body, JSON_COMPACT);
	if (!text) {
		api_error(response, 500, "out of memory");
		goto done;
	}
	heartbeat.json = text;
	result = store_put_heartbeat(context->store, &heartbeat, timefmt_now_ticks());
	if (result) {
		store_failed(context, response, result, "storing the heartbeat");
		goto done;
	}
	metrics_add(COUNTER_HEARTBEATS, 1);
	answer_json(response, 200, json_object());
done:
	free(text);
	json_decref(body);
}

/* ---- POST /v1/query ------------------------------------------------------------ */

static void query_error(struct api_response *response, const struct kql_error *error,
			const char *text, size_t length)
{
	char *formatted = kql_error_format(error, text, length, "query");
	json_t *answer = json_pack("{s:{s:i,s:s,s:s,s:i,s:i,s:I,s:s}}", "error", "code", 400,
				   "kind", kql_error_kind_name(error->kind), "message",
				   error->message, "line", (int)error->line, "column",
				   (int)error->column, "offset", (json_int_t)error->offset, "text",
				   formatted ? formatted : error->message);

	free(formatted);
	answer_json(response, 400, answer);
}

static json_t *table_json(const struct kql_table *table, double seconds, json_t *plan)
{
	json_t *columns = json_array(), *rows = json_array();
	size_t column_count = kql_table_column_count(table);

	for (size_t i = 0; i < column_count; i++)
		json_array_append_new(columns,
				      json_pack("{s:s,s:s}", "name", kql_table_column_name(table, i),
						"type", value_type_name(kql_table_column_type(table, i))));
	for (size_t row = 0; row < kql_table_row_count(table); row++) {
		const struct value *values = kql_table_row(table, row);
		json_t *cells = json_array();

		for (size_t i = 0; i < column_count; i++)
			json_array_append_new(cells, kql_value_to_json(&values[i]));
		json_array_append_new(rows, cells);
	}
	return json_pack("{s:o,s:o,s:{s:I,s:f,s:O}}", "columns", columns, "rows", rows, "stats",
			 "rows", (json_int_t)kql_table_row_count(table), "seconds", seconds, "plan",
			 plan);
}

static void handle_query(struct api_context *context, const struct api_request *request,
			 struct api_response *response)
{
	const struct table_schema *tables[STORE_TABLE_COUNT];
	json_t *body = json_body(context, request, response);
	struct kql_query *query = NULL;
	struct kql_table *table = NULL;
	struct kql_error error;
	const char *text, *format;
	double started = monotonic_seconds();
	json_t *plan = json_array();
	int result;

	if (!plan || !body || !(text = string_member(body, "query", true, response)) ||
	    !(format = string_member(body, "format", false, response)))
		goto done;
	if (format[0] && strcmp(format, "rows") != 0) {
		api_error(response, 400, "format: only \"rows\" is known");
		goto done;
	}
	store_tables(tables);
	if (kql_compile(text, strlen(text), tables, STORE_TABLE_COUNT, &query, &error) != 0) {
		query_error(response, &error, text, strlen(text));
		goto done;
	}
	result = store_run_query_planned(context->store, query, timefmt_now_ticks(), &table, &error,
					 plan);
	if (result == -ENOMEM)
		api_error(response, 500, "out of memory");
	else if (result)
		query_error(response, &error, text, strlen(text));
	else
		answer_json(response, 200, table_json(table, monotonic_seconds() - started, plan));
done:
	json_decref(plan);
	kql_table_free(table);
	kql_query_free(query);
	json_decref(body);
}

/* ---- GET /v1/devices, /healthz, /metrics ------------------------------------------ */

static void handle_devices(struct api_context *context, struct api_response *response)
{
	struct store_device *devices = NULL;
	size_t count = 0;
	int result = store_list_devices(context->store, &devices, &count);

	if (result) {
		store_failed(context, response, result, "listing devices");
		return;
	}
	answer_json(response, 200, device_info_list_json(devices, count, timefmt_now_ticks()));
	store_free_devices(devices, count);
}

static void handle_health(struct api_context *context, struct api_response *response)
{
	int result = store_check_writable(context->store);

	if (result) {
		response->retry_after = context->limits.retry_after_seconds;
		answer_text(response, 503, "text/plain; charset=utf-8", "store not writable\n");
		return;
	}
	answer_text(response, 200, "text/plain; charset=utf-8", "ok\n");
}

static void count_devices(struct api_context *context, struct metrics_devices *counts)
{
	struct store_device *devices = NULL;
	size_t count = 0;
	int64_t now = timefmt_now_ticks();

	memset(counts, 0, sizeof(*counts));
	if (store_list_devices(context->store, &devices, &count) != 0)
		return;
	counts->total = (int64_t)count;
	for (size_t i = 0; i < count; i++) {
		json_t *heartbeat = json_loads(devices[i].heartbeat_json, 0, NULL);
		struct device_health health;

		device_health_of(&devices[i], heartbeat, now, &health);
		counts->silent += health.silent && !devices[i].revoked;
		counts->revoked += devices[i].revoked;
		counts->losses += health.losses > 0;
		json_decref(heartbeat);
	}
	store_free_devices(devices, count);
}

static void handle_metrics(struct api_context *context, struct api_response *response)
{
	struct metrics_devices devices;
	struct store_stats stats;

	count_devices(context, &devices);
	response->status = 200;
	response->content_type = "text/plain; version=0.0.4; charset=utf-8";
	strbuf_clear(&response->body);
	metrics_render(&response->body, &devices,
		       store_read_stats(context->store, &stats) == 0 ? &stats : NULL);
}

void api_handle(struct api_context *context, const struct api_request *request,
		struct api_response *response)
{
	switch (request->endpoint) {
	case ENDPOINT_ENROLL:
		handle_enroll(context, request, response);
		break;
	case ENDPOINT_EVENTS:
		handle_events(context, request, response);
		break;
	case ENDPOINT_HEARTBEAT:
		handle_heartbeat(context, request, response);
		break;
	case ENDPOINT_QUERY:
		handle_query(context, request, response);
		break;
	case ENDPOINT_DEVICES:
		handle_devices(context, response);
		break;
	case ENDPOINT_HEALTH:
		handle_health(context, response);
		break;
	case ENDPOINT_METRICS:
		handle_metrics(context, response);
		break;
	default:
		api_error(response, 404, "no such endpoint");
		break;
	}
}
