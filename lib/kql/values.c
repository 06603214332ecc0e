/*
 * values.c - operations on struct value the whole engine shares: ordering,
 * equality and hashing (sort, min/max, grouping, `in`), owned copies (result
 * tables, summarize keys), and the conversions of tostring(), tolong(), ...
 * and between values and JSON (dynamic).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kql/internal.h"
#include "kql/kql_format.h"

struct value kql_value_null(enum value_type type)
{
	struct value value;

	memset(&value, 0, sizeof(value));
	value.type = type;
	value.is_null = type != VALUE_STRING;
	if (type == VALUE_STRING)
		value.str = "";
	return value;
}

struct value kql_value_string(const char *text, size_t length)
{
	struct value value = kql_value_null(VALUE_STRING);

	value.str = text;
	value.len = length;
	return value;
}

struct value kql_value_long(int64_t number)
{
	struct value value = kql_value_null(VALUE_LONG);

	value.is_null = false;
	value.l = number;
	return value;
}

struct value kql_value_bool(bool flag)
{
	struct value value = kql_value_null(VALUE_BOOL);

	value.is_null = false;
	value.b = flag;
	return value;
}

static int compare_numbers(double a, double b)
{
	if (a < b)
		return -1;
	if (a > b)
		return 1;
	if (a == b)
		return 0;
	/* NaN sorts after every number */
	return isnan(a) - isnan(b);
}

static int compare_integers(int64_t a, int64_t b)
{
	return (a > b) - (a < b);
}

int kql_value_compare(const struct value *a, const struct value *b)
{
	if (a->is_null || b->is_null)
		return (int)!a->is_null - (int)!b->is_null;
	if (a->type != b->type) {
		if ((a->type == VALUE_LONG || a->type == VALUE_REAL) &&
		    (b->type == VALUE_LONG || b->type == VALUE_REAL))
			return compare_numbers(a->type == VALUE_LONG ? (double)a->l : a->r,
					       b->type == VALUE_LONG ? (double)b->l : b->r);
		return (a->type > b->type) - (a->type < b->type);
	}
	switch (a->type) {
	case VALUE_BOOL:
		return (int)a->b - (int)b->b;
	case VALUE_LONG:
		return compare_integers(a->l, b->l);
	case VALUE_REAL:
		return compare_numbers(a->r, b->r);
	case VALUE_DATETIME:
	case VALUE_TIMESPAN:
		return compare_integers(a->ticks, b->ticks);
	case VALUE_STRING: {
		size_t length = a->len < b->len ? a->len : b->len;
		int order = length ? memcmp(a->str, b->str, length) : 0;

		if (order)
			return order < 0 ? -1 : 1;
		return (a->len > b->len) - (a->len < b->len);
	}
	case VALUE_DYNAMIC: {
		char *a_text = json_dumps(a->dyn, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
		char *b_text = json_dumps(b->dyn, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
		int order = (a_text && b_text) ? strcmp(a_text, b_text) : 0;

		free(a_text);
		free(b_text);
		return (order > 0) - (order < 0);
	}
	}
	return 0;
}

bool kql_value_equal(const struct value *a, const struct value *b)
{
	if (a->type != b->type || a->is_null != b->is_null)
		return false;
	if (a->is_null)
		return true;
	switch (a->type) {
	case VALUE_STRING:
		return a->len == b->len && (a->len == 0 || memcmp(a->str, b->str, a->len) == 0);
	case VALUE_REAL:
		return a->r == b->r || (isnan(a->r) && isnan(b->r));
	case VALUE_DYNAMIC:
		return json_equal(a->dyn, b->dyn);
	default:
		return kql_value_compare(a, b) == 0;
	}
}

uint64_t kql_hash_bytes(const void *data, size_t length, uint64_t seed)
{
	const unsigned char *bytes = data;
	uint64_t hash = 0xcbf29ce484222325ULL ^ seed;

	for (size_t i = 0; i < length; i++) {
		hash ^= bytes[i];
		hash *= 0x100000001b3ULL;
	}
	return hash ^ (hash >> 29);
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

uint64_t kql_value_hash(const struct value *value)
{
	uint64_t seed = (uint64_t)value->type * 0x9e3779b97f4a7c15ULL;

	if (value->is_null)
		return mix(seed + 1);
	switch (value->type) {
	case VALUE_BOOL:
		return mix(seed + 2 + value->b);
	case VALUE_LONG:
		return mix(seed ^ (uint64_t)value->l);
	case VALUE_DATETIME:
	case VALUE_TIMESPAN:
		return mix(seed ^ (uint64_t)value->ticks);
	case VALUE_REAL: {
		double number = value->r == 0 ? 0.0 : value->r;
		uint64_t bits;

		if (isnan(number))
			number = NAN;
		memcpy(&bits, &number, sizeof(bits));
		return mix(seed ^ bits);
	}
	case VALUE_STRING:
		return kql_hash_bytes(value->str, value->len, seed);
	case VALUE_DYNAMIC: {
		char *text = json_dumps(value->dyn, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
		uint64_t hash = text ? kql_hash_bytes(text, strlen(text), seed) : seed;

		free(text);
		return hash;
	}
	}
	return seed;
}

int kql_value_copy_owned(struct value *out, const struct value *in)
{
	*out = *in;
	if (in->type == VALUE_STRING) {
		char *copy = malloc(in->len + 1);

		if (!copy)
			return -ENOMEM;
		if (in->len)
			memcpy(copy, in->str, in->len);
		copy[in->len] = '\0';
		out->str = copy;
	} else if (in->type == VALUE_DYNAMIC && !in->is_null) {
		json_incref(in->dyn);
	}
	return 0;
}

void kql_value_release(struct value *value)
{
	if (value->type == VALUE_STRING) {
		free((char *)value->str);
		value->str = "";
		value->len = 0;
	} else if (value->type == VALUE_DYNAMIC && !value->is_null) {
		json_decref(value->dyn);
		value->is_null = true;
	}
}

size_t kql_value_owned_bytes(const struct value *value)
{
	size_t bytes = sizeof(*value);

	if (value->type == VALUE_STRING)
		bytes += value->len + 1;
	else if (value->type == VALUE_DYNAMIC)
		bytes += 64; /* a guess: jansson keeps the value */
	return bytes;
}

int kql_value_copy_arena(struct value *out, const struct value *in, struct arena *arena)
{
	*out = *in;
	if (in->type == VALUE_STRING) {
		char *copy = arena_strndup(arena, in->str, in->len);

		if (!copy)
			return -ENOMEM;
		out->str = copy;
	} else if (in->type == VALUE_DYNAMIC && !in->is_null) {
		json_incref(in->dyn);
	}
	return 0;
}

void kql_format_real(double number, char *buffer, size_t size)
{
	if (isnan(number)) {
		snprintf(buffer, size, "NaN");
		return;
	}
	if (isinf(number)) {
		snprintf(buffer, size, number > 0 ? "Infinity" : "-Infinity");
		return;
	}
	for (int precision = 15; precision <= 17; precision++) {
		snprintf(buffer, size, "%.*g", precision, number);
		if (strtod(buffer, NULL) == number)
			return;
	}
}

static int string_in_scratch(struct scratch *scratch, const char *text, size_t length,
			     struct value *out)
{
	char *copy = arena_strndup(&scratch->arena, text, length);

	if (!copy)
		return -ENOMEM;
	*out = kql_value_string(copy, length);
	return 0;
}

int kql_value_to_string(const struct value *in, struct scratch *scratch, struct value *out)
{
	char buffer[64];
	size_t length;

	if (in->type == VALUE_STRING) {
		*out = *in;
		return 0;
	}
	if (in->is_null) {
		*out = kql_value_string("", 0);
		return 0;
	}
	switch (in->type) {
	case VALUE_BOOL:
		*out = in->b ? kql_value_string("true", 4) : kql_value_string("false", 5);
		return 0;
	case VALUE_LONG:
		length = (size_t)snprintf(buffer, sizeof(buffer), "%" PRId64, in->l);
		break;
	case VALUE_REAL:
		kql_format_real(in->r, buffer, sizeof(buffer));
		length = strlen(buffer);
		break;
	case VALUE_DATETIME:
		length = kql_format_datetime(in->ticks, buffer, sizeof(buffer));
		break;
	case VALUE_TIMESPAN:
		length = kql_format_timespan(in->ticks, buffer, sizeof(buffer));
		break;
	case VALUE_DYNAMIC: {
		if (json_is_string(in->dyn)) {
			*out = kql_value_string(json_string_value(in->dyn), json_string_length(in->dyn));
			return 0;
		}
		if (json_is_null(in->dyn)) {
			*out = kql_value_string("", 0);
			return 0;
		}
		char *text = json_dumps(in->dyn, JSON_COMPACT | JSON_ENCODE_ANY);

		if (!text)
			return -ENOMEM;
		int status = string_in_scratch(scratch, text, strlen(text), out);

		free(text);
		return status;
	}
	default:
		*out = kql_value_string("", 0);
		return 0;
	}
	return string_in_scratch(scratch, buffer, length, out);
}

/* Parses a whole string as a long (decimal); false when it is not one. */
static bool parse_long(const char *text, size_t length, int64_t *number)
{
	char buffer[32];
	char *end;

	while (length && (*text == ' ' || *text == '\t')) {
		text++;
		length--;
	}
	while (length && (text[length - 1] == ' ' || text[length - 1] == '\t'))
		length--;
	if (length == 0 || length >= sizeof(buffer))
		return false;
	memcpy(buffer, text, length);
	buffer[length] = '\0';
	errno = 0;
	*number = strtoll(buffer, &end, 10);
	return *end == '\0' && errno == 0;
}

static bool parse_real(const char *text, size_t length, double *number)
{
	char buffer[64];
	char *end;

	if (length == 0 || length >= sizeof(buffer))
		return false;
	memcpy(buffer, text, length);
	buffer[length] = '\0';
	*number = strtod(buffer, &end);
	while (*end == ' ' || *end == '\t')
		end++;
	return end != buffer && *end == '\0';
}

void kql_value_to_long(const struct value *in, struct value *out)
{
	*out = kql_value_null(VALUE_LONG);
	if (in->is_null)
		return;
	switch (in->type) {
	case VALUE_BOOL:
		*out = kql_value_long(in->b);
		break;
	case VALUE_LONG:
		*out = *in;
		break;
	case VALUE_REAL:
		if (isfinite(in->r) && in->r < 9.2233720368547758e18 && in->r > -9.2233720368547758e18)
			*out = kql_value_long((int64_t)in->r);
		break;
	case VALUE_DATETIME:
	case VALUE_TIMESPAN:
		*out = kql_value_long(in->ticks);
		break;
	case VALUE_STRING: {
		int64_t number;
		double real;

		if (parse_long(in->str, in->len, &number))
			*out = kql_value_long(number);
		else if (parse_real(in->str, in->len, &real) && isfinite(real) &&
			 real < 9.2233720368547758e18 && real > -9.2233720368547758e18)
			*out = kql_value_long((int64_t)real);
		break;
	}
	case VALUE_DYNAMIC:
		if (json_is_integer(in->dyn))
			*out = kql_value_long((int64_t)json_integer_value(in->dyn));
		else if (json_is_real(in->dyn) || json_is_string(in->dyn) || json_is_boolean(in->dyn)) {
			struct value inner;

			kql_value_from_json(in->dyn, json_is_real(in->dyn) ? VALUE_REAL
					: json_is_boolean(in->dyn) ? VALUE_BOOL : VALUE_STRING,
					&inner);
			kql_value_to_long(&inner, out);
		}
		break;
	}
}

void kql_value_to_real(const struct value *in, struct value *out)
{
	*out = kql_value_null(VALUE_REAL);
	if (in->is_null)
		return;
	out->is_null = false;
	switch (in->type) {
	case VALUE_BOOL:
		out->r = in->b;
		return;
	case VALUE_LONG:
		out->r = (double)in->l;
		return;
	case VALUE_REAL:
		out->r = in->r;
		return;
	case VALUE_DATETIME:
	case VALUE_TIMESPAN:
		out->r = (double)in->ticks;
		return;
	case VALUE_STRING:
		out->is_null = !parse_real(in->str, in->len, &out->r);
		return;
	case VALUE_DYNAMIC:
		if (json_is_number(in->dyn)) {
			out->r = json_number_value(in->dyn);
		} else if (json_is_string(in->dyn)) {
			out->is_null = !parse_real(json_string_value(in->dyn),
						   json_string_length(in->dyn), &out->r);
		} else {
			out->is_null = true;
		}
		return;
	}
}

void kql_value_to_bool(const struct value *in, struct value *out)
{
	*out = kql_value_null(VALUE_BOOL);
	if (in->is_null)
		return;
	switch (in->type) {
	case VALUE_BOOL:
		*out = *in;
		break;
	case VALUE_LONG:
		*out = kql_value_bool(in->l != 0);
		break;
	case VALUE_REAL:
		*out = kql_value_bool(in->r != 0);
		break;
	case VALUE_STRING:
		if (kql_equals_ci(in->str, in->len, "true", 4) || (in->len == 1 && in->str[0] == '1'))
			*out = kql_value_bool(true);
		else if (kql_equals_ci(in->str, in->len, "false", 5) ||
			 (in->len == 1 && in->str[0] == '0'))
			*out = kql_value_bool(false);
		break;
	case VALUE_DYNAMIC:
		if (json_is_boolean(in->dyn))
			*out = kql_value_bool(json_is_true(in->dyn));
		break;
	default:
		break;
	}
}

void kql_value_to_datetime(const struct value *in, struct value *out)
{
	*out = kql_value_null(VALUE_DATETIME);
	if (in->is_null)
		return;
	if (in->type == VALUE_DATETIME) {
		*out = *in;
	} else if (in->type == VALUE_STRING) {
		out->is_null = kql_parse_datetime_text(in->str, in->len, &out->ticks) != 0;
	} else if (in->type == VALUE_DYNAMIC && json_is_string(in->dyn)) {
		out->is_null = kql_parse_datetime_text(json_string_value(in->dyn),
						   json_string_length(in->dyn), &out->ticks) != 0;
	} else if (in->type == VALUE_LONG) {
		out->is_null = false;
		out->ticks = in->l;
	}
}

void kql_value_to_timespan(const struct value *in, struct value *out)
{
	*out = kql_value_null(VALUE_TIMESPAN);
	if (in->is_null)
		return;
	if (in->type == VALUE_TIMESPAN) {
		*out = *in;
	} else if (in->type == VALUE_LONG) {
		out->is_null = false;
		out->ticks = in->l;
	} else if (in->type == VALUE_STRING) {
		out->is_null = kql_parse_timespan_text(in->str, in->len, &out->ticks) != 0;
	} else if (in->type == VALUE_DYNAMIC && json_is_string(in->dyn)) {
		out->is_null = kql_parse_timespan_text(json_string_value(in->dyn),
						   json_string_length(in->dyn), &out->ticks) != 0;
	}
}

void kql_value_from_json(json_t *json, enum value_type type, struct value *out)
{
	*out = kql_value_null(type);
	if (!json)
		return;
	switch (type) {
	case VALUE_DYNAMIC:
		out->is_null = false;
		out->dyn = json;
		return;
	case VALUE_STRING:
		if (json_is_string(json))
			*out = kql_value_string(json_string_value(json), json_string_length(json));
		return;
	case VALUE_BOOL:
		if (json_is_boolean(json))
			*out = kql_value_bool(json_is_true(json));
		return;
	case VALUE_LONG:
		if (json_is_integer(json))
			*out = kql_value_long((int64_t)json_integer_value(json));
		return;
	case VALUE_REAL:
		if (json_is_number(json)) {
			out->is_null = false;
			out->r = json_number_value(json);
		}
		return;
	case VALUE_DATETIME:
		if (json_is_string(json))
			out->is_null = kql_parse_datetime_text(json_string_value(json),
							   json_string_length(json), &out->ticks) != 0;
		return;
	case VALUE_TIMESPAN:
		if (json_is_integer(json)) {
			out->is_null = false;
			out->ticks = (int64_t)json_integer_value(json);
		}
		return;
	}
}

size_t kql_utf8_valid_prefix(const char *text, size_t length)
{
	size_t position = 0;

	while (position < length) {
		size_t step = utf8_sequence_length((const unsigned char *)(text + position), length - position);

		if (step == 0)
			break;
		position += step;
	}
	return position;
}

json_t *kql_json_string_lossy(const char *text, size_t length)
{
	struct strbuf clean;
	json_t *json;

	if (kql_utf8_valid_prefix(text, length) == length)
		return json_stringn_nocheck(text, length);
	strbuf_init(&clean);
	text_append_lossy(&clean, text, length);
	json = clean.failed ? NULL : json_stringn_nocheck(strbuf_text(&clean), clean.length);
	strbuf_free(&clean);
	return json;
}

json_t *kql_value_to_json(const struct value *value)
{
	char buffer[64];

	if (value->is_null)
		return json_null();
	switch (value->type) {
	case VALUE_BOOL:
		return json_boolean(value->b);
	case VALUE_LONG:
		return json_integer(value->l);
	case VALUE_REAL:
		if (isfinite(value->r))
			return json_real(value->r);
		kql_format_real(value->r, buffer, sizeof(buffer));
		return json_string(buffer);
	case VALUE_DATETIME:
		kql_format_datetime(value->ticks, buffer, sizeof(buffer));
		return json_string(buffer);
	case VALUE_TIMESPAN:
		kql_format_timespan(value->ticks, buffer, sizeof(buffer));
		return json_string(buffer);
	case VALUE_STRING:
		return kql_json_string_lossy(value->str, value->len);
	case VALUE_DYNAMIC:
		return json_incref(value->dyn);
	}
	return json_null();
}
