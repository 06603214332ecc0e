/*
 * functions.c - KQL's scalar functions: the table of names, the type check
 * of each call and its evaluation on argument values.
 *
 * A function's check runs at compile time on the typed arguments (and may
 * prepare a constant argument, such as the regular expression of
 * trim_start); its eval runs per row on evaluated arguments and writes
 * strings it builds into the row's scratch space.  Strings are never null:
 * string functions return "" where Kusto returns an empty value.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/unicode.h"
#include "kql/internal.h"

static bool is_numeric(enum value_type type)
{
	return type == VALUE_LONG || type == VALUE_REAL;
}

static enum value_type arg_type(const struct expr *call, size_t index)
{
	return call->call.args[index]->type;
}

/* ---- scratch helpers ---------------------------------------------------------- */

char *kql_scratch_string(struct eval_context *context, size_t length)
{
	char *text = arena_alloc(&context->scratch->arena, length + 1);

	if (!text)
		context->error = -ENOMEM;
	return text;
}

void kql_string_result(struct eval_context *context, const char *text, size_t length,
		       struct value *out)
{
	char *copy = kql_scratch_string(context, length);

	if (!copy) {
		*out = kql_value_string("", 0);
		return;
	}
	memcpy(copy, text, length);
	copy[length] = '\0';
	*out = kql_value_string(copy, length);
}

void kql_dynamic_result(struct eval_context *context, json_t *json, struct value *out)
{
	*out = kql_value_null(VALUE_DYNAMIC);
	if (!json) {
		context->error = -ENOMEM;
		return;
	}
	if (kql_scratch_keep(context->scratch, json) < 0) {
		context->error = -ENOMEM;
		return;
	}
	out->is_null = false;
	out->dyn = json;
}

/* A value's text; strings as they are. */
struct value kql_text_of(struct eval_context *context, const struct value *value)
{
	struct value text;

	if (kql_value_to_string(value, context->scratch, &text) < 0) {
		context->error = -ENOMEM;
		return kql_value_string("", 0);
	}
	return text;
}

/* ---- checks --------------------------------------------------------------------- */

static int check_returns(struct expr *call, enum value_type type)
{
	call->type = type;
	return 0;
}

static int wrong_type(char *message, size_t size, const struct expr *call, size_t index,
		      const char *expected)
{
	snprintf(message, size, "%s(): argument %zu must be a %s, found a %s",
		 call->call.function->name, index + 1, expected,
		 value_type_name(arg_type(call, index)));
	return -EINVAL;
}

static int check_now(struct expr *call, char *message, size_t size)
{
	if (call->call.count == 1 && arg_type(call, 0) != VALUE_TIMESPAN)
		return wrong_type(message, size, call, 0, "timespan");
	return check_returns(call, VALUE_DATETIME);
}

static int check_split(struct expr *call, char *message, size_t size)
{
	if (call->call.count == 3 && arg_type(call, 2) != VALUE_LONG)
		return wrong_type(message, size, call, 2, "long");
	return check_returns(call, VALUE_DYNAMIC);
}

static int check_substring(struct expr *call, char *message, size_t size)
{
	for (size_t i = 1; i < call->call.count; i++) {
		if (arg_type(call, i) != VALUE_LONG)
			return wrong_type(message, size, call, i, "long");
	}
	return check_returns(call, VALUE_STRING);
}

static int check_array_length(struct expr *call, char *message, size_t size)
{
	if (arg_type(call, 0) != VALUE_DYNAMIC)
		return wrong_type(message, size, call, 0, "dynamic");
	return check_returns(call, VALUE_LONG);
}

static int check_bin(struct expr *call, char *message, size_t size)
{
	enum value_type value = arg_type(call, 0), step = arg_type(call, 1);

	if (call->call.args[1]->kind != EXPR_CONST) {
		snprintf(message, size, "%s(): the bin size must be a constant", call->call.function->name);
		return -EINVAL;
	}
	if (is_numeric(value) && is_numeric(step))
		return check_returns(call, value);
	if ((value == VALUE_DATETIME || value == VALUE_TIMESPAN) && step == VALUE_TIMESPAN)
		return check_returns(call, value);
	snprintf(message, size, "%s(): cannot bin a %s by a %s", call->call.function->name,
		 value_type_name(value), value_type_name(step));
	return -EINVAL;
}

static int check_startofday(struct expr *call, char *message, size_t size)
{
	if (arg_type(call, 0) != VALUE_DATETIME)
		return wrong_type(message, size, call, 0, "datetime");
	return check_returns(call, VALUE_DATETIME);
}

static int check_coalesce(struct expr *call, char *message, size_t size)
{
	for (size_t i = 1; i < call->call.count; i++) {
		if (arg_type(call, i) != arg_type(call, 0))
			return wrong_type(message, size, call, i, value_type_name(arg_type(call, 0)));
	}
	return check_returns(call, arg_type(call, 0));
}

/*
 * The constant string argument index as a compiled regular expression in
 * call->call.regexes[slot]; anchor: 1 at the start, 2 at the end, 0 none.
 */
int kql_prepare_regex(struct expr *call, size_t index, size_t slot, int anchor, unsigned flags,
		      char *message, size_t size)
{
	const struct expr *pattern = call->call.args[index];
	char inner[200];

	if (pattern->kind != EXPR_CONST || pattern->type != VALUE_STRING) {
		snprintf(message, size, "%s(): the regular expression must be a constant string",
			 call->call.function->name);
		return -EINVAL;
	}
	char *text = malloc(pattern->constant.len + 16);

	if (!text) {
		snprintf(message, size, "out of memory");
		return -ENOMEM;
	}
	int length = anchor ? sprintf(text, "%s(?:%.*s)%s", anchor == 1 ? "^" : "",
				      (int)pattern->constant.len, pattern->constant.str,
				      anchor == 2 ? "$" : "")
			    : sprintf(text, "%.*s", (int)pattern->constant.len, pattern->constant.str);
	int status = kql_regex_compile(&call->call.regexes[slot], text, (size_t)length, flags, inner,
				       sizeof(inner));

	free(text);
	if (status < 0) {
		snprintf(message, size, "%s(): %s", call->call.function->name, inner);
		return status;
	}
	return 0;
}

static int check_trim(struct expr *call, char *message, size_t size)
{
	const char *name = call->call.function->name;
	bool start = strcmp(name, "trim_end") != 0;
	bool end = strcmp(name, "trim_start") != 0;

	if (start && kql_prepare_regex(call, 0, 0, 1, 0, message, size) < 0)
		return -EINVAL;
	if (end && kql_prepare_regex(call, 0, 1, 2, 0, message, size) < 0)
		return -EINVAL;
	return check_returns(call, VALUE_STRING);
}

static int check_extract(struct expr *call, char *message, size_t size)
{
	if (arg_type(call, 1) != VALUE_LONG || call->call.args[1]->kind != EXPR_CONST ||
	    call->call.args[1]->constant.is_null || call->call.args[1]->constant.l < 0 ||
	    call->call.args[1]->constant.l > 9) {
		snprintf(message, size, "extract(): the capture group must be a constant 0 to 9");
		return -EINVAL;
	}
	if (kql_prepare_regex(call, 0, 0, 0, 0, message, size) < 0)
		return -EINVAL;
	if ((size_t)call->call.args[1]->constant.l > kql_regex_group_count(call->call.regexes[0])) {
		snprintf(message, size, "extract(): the regular expression has %zu capture groups, "
			 "group %lld asked", kql_regex_group_count(call->call.regexes[0]),
			 (long long)call->call.args[1]->constant.l);
		return -EINVAL;
	}
	return check_returns(call, VALUE_STRING);
}

/* ---- evaluation --------------------------------------------------------------------- */

static void eval_now(struct eval_context *context, const struct expr *call, struct value *args,
		     struct value *out)
{
	*out = kql_value_null(VALUE_DATETIME);
	int64_t offset = call->call.count == 1 ? args[0].ticks : 0;

	if (call->call.count == 1 && args[0].is_null)
		return;
	out->is_null = __builtin_add_overflow(context->now, offset, &out->ticks);
}

static void eval_ago(struct eval_context *context, const struct expr *call, struct value *args,
		     struct value *out)
{
	(void)call;
	*out = kql_value_null(VALUE_DATETIME);
	if (!args[0].is_null)
		out->is_null = __builtin_sub_overflow(context->now, args[0].ticks, &out->ticks);
}

static bool is_empty(const struct value *value)
{
	if (value->type == VALUE_STRING)
		return value->len == 0;
	if (value->type == VALUE_DYNAMIC && !value->is_null && json_is_string(value->dyn))
		return json_string_length(value->dyn) == 0;
	return value->is_null || (value->type == VALUE_DYNAMIC && json_is_null(value->dyn));
}

static bool is_null(const struct value *value)
{
	if (value->type == VALUE_STRING)
		return false;
	return value->is_null || (value->type == VALUE_DYNAMIC && json_is_null(value->dyn));
}

static void eval_isempty(struct eval_context *context, const struct expr *call,
			 struct value *args, struct value *out)
{
	(void)context;
	(void)call;
	*out = kql_value_bool(is_empty(&args[0]));
}

static void eval_isnotempty(struct eval_context *context, const struct expr *call,
			    struct value *args, struct value *out)
{
	(void)context;
	(void)call;
	*out = kql_value_bool(!is_empty(&args[0]));
}

static void eval_isnull(struct eval_context *context, const struct expr *call,
			struct value *args, struct value *out)
{
	(void)context;
	(void)call;
	*out = kql_value_bool(is_null(&args[0]));
}

static void eval_isnotnull(struct eval_context *context, const struct expr *call,
			   struct value *args, struct value *out)
{
	(void)context;
	(void)call;
	*out = kql_value_bool(!is_null(&args[0]));
}

static void change_case(struct eval_context *context, const struct value *arg, bool upper,
			struct value *out)
{
	struct value text = kql_text_of(context, arg);
	char *copy = kql_scratch_string(context, 2 * text.len);

	*out = kql_value_string("", 0);
	if (!copy)
		return;
	size_t length = upper ? unicode_upper_text(text.str, text.len, copy)
			      : unicode_lower_text(text.str, text.len, copy);

	*out = kql_value_string(copy, length);
}

static void eval_tolower(struct eval_context *context, const struct expr *call,
			 struct value *args, struct value *out)
{
	(void)call;
	change_case(context, &args[0], false, out);
}

static void eval_toupper(struct eval_context *context, const struct expr *call,
			 struct value *args, struct value *out)
{
	(void)call;
	change_case(context, &args[0], true, out);
}

static bool is_continuation(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

int64_t kql_count_characters(const char *text, size_t length)
{
	int64_t count = 0;

	for (size_t i = 0; i < length; i++)
		count += !is_continuation((unsigned char)text[i]);
	return count;
}

/* Byte offset of character number index (clamped to the end). */
size_t kql_character_offset(const char *text, size_t length, int64_t index)
{
	size_t position = 0;

	while (position < length && index > 0) {
		position++;
		while (position < length && is_continuation((unsigned char)text[position]))
			position++;
		index--;
	}
	return position;
}

static void eval_strlen(struct eval_context *context, const struct expr *call,
			struct value *args, struct value *out)
{
	(void)call;
	struct value text = kql_text_of(context, &args[0]);

	*out = kql_value_long(kql_count_characters(text.str, text.len));
}

static void eval_tostring(struct eval_context *context, const struct expr *call,
			  struct value *args, struct value *out)
{
	(void)call;
	*out = kql_text_of(context, &args[0]);
}

static void eval_tolong(struct eval_context *context, const struct expr *call,
			struct value *args, struct value *out)
{
	(void)context;
	(void)call;
	kql_value_to_long(&args[0], out);
}

static void eval_toreal(struct eval_context *context, const struct expr *call,
			struct value *args, struct value *out)
{
	(void)context;
	(void)call;
	kql_value_to_real(&args[0], out);
}

static void eval_tobool(struct eval_context *context, const struct expr *call,
			struct value *args, struct value *out)
{
	(void)context;
	(void)call;
	kql_value_to_bool(&args[0], out);
}

static void eval_todatetime(struct eval_context *context, const struct expr *call,
			    struct value *args, struct value *out)
{
	(void)context;
	(void)call;
	kql_value_to_datetime(&args[0], out);
}

static void eval_totimespan(struct eval_context *context, const struct expr *call,
			    struct value *args, struct value *out)
{
	(void)context;
	(void)call;
	kql_value_to_timespan(&args[0], out);
}

static void eval_parse_json(struct eval_context *context, const struct expr *call,
			    struct value *args, struct value *out)
{
	(void)call;
	if (args[0].type == VALUE_DYNAMIC) {
		*out = args[0];
		return;
	}
	if (args[0].type != VALUE_STRING) {
		kql_dynamic_result(context, kql_value_to_json(&args[0]), out);
		return;
	}
	json_t *json = json_loadb(args[0].str, args[0].len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

	if (!json) /* not JSON: the string itself */
		json = kql_json_string_lossy(args[0].str, args[0].len);
	kql_dynamic_result(context, json, out);
}

static void eval_split(struct eval_context *context, const struct expr *call, struct value *args,
		       struct value *out)
{
	struct value text = kql_text_of(context, &args[0]);
	struct value delimiter = kql_text_of(context, &args[1]);
	json_t *array = json_array();
	int64_t wanted = -1;
	int64_t index = 0;
	size_t start = 0;

	if (call->call.count == 3) {
		if (args[2].is_null || args[2].l < 0) {
			kql_dynamic_result(context, array, out);
			return;
		}
		wanted = args[2].l;
	}
	for (size_t position = 0; array && position <= text.len;) {
		const char *found = NULL;

		if (delimiter.len)
			found = memmem(text.str + position, text.len - position, delimiter.str,
				       delimiter.len);
		size_t end = found ? (size_t)(found - text.str) : text.len;

		if (wanted < 0 || index == wanted) {
			json_t *part = kql_json_string_lossy(text.str + start, end - start);

			if (!part || json_array_append_new(array, part) < 0) {
				json_decref(array);
				array = NULL;
				break;
			}
		}
		index++;
		if (!found)
			break;
		position = end + delimiter.len;
		start = position;
	}
	kql_dynamic_result(context, array, out);
}

/* Removes the match of regex at the start (slot 0) and/or end (slot 1). */
static void eval_trim(struct eval_context *context, const struct expr *call, struct value *args,
		      struct value *out)
{
	struct value text = kql_text_of(context, &args[1]);
	size_t start = 0, end = text.len;
	struct kql_regex_span match[1];

	if (call->call.regexes[0] &&
	    kql_regex_search(call->call.regexes[0], text.str, text.len, 0, match, 1) == 1)
		start = match[0].end;
	if (call->call.regexes[1] && end > start &&
	    kql_regex_search(call->call.regexes[1], text.str + start, end - start, 0, match, 1) == 1)
		end = start + match[0].start;
	kql_string_result(context, text.str + start, end - start, out);
}

static void eval_extract(struct eval_context *context, const struct expr *call,
			 struct value *args, struct value *out)
{
	struct value text = kql_text_of(context, &args[2]);
	struct kql_regex_span match[10];
	size_t group = (size_t)call->call.args[1]->constant.l;

	*out = kql_value_string("", 0);
	if (kql_regex_search(call->call.regexes[0], text.str, text.len, 0, match, group + 1) != 1)
		return;
	if (!match[group].set)
		return;
	kql_string_result(context, text.str + match[group].start, match[group].end - match[group].start,
		      out);
}

static void eval_strcat(struct eval_context *context, const struct expr *call,
			struct value *args, struct value *out)
{
	size_t total = 0;

	for (size_t i = 0; i < call->call.count; i++) {
		args[i] = kql_text_of(context, &args[i]);
		total += args[i].len;
	}
	char *text = kql_scratch_string(context, total);

	*out = kql_value_string("", 0);
	if (!text)
		return;
	size_t used = 0;

	for (size_t i = 0; i < call->call.count; i++) {
		memcpy(text + used, args[i].str, args[i].len);
		used += args[i].len;
	}
	text[used] = '\0';
	*out = kql_value_string(text, used);
}

static void eval_substring(struct eval_context *context, const struct expr *call,
			   struct value *args, struct value *out)
{
	struct value text = kql_text_of(context, &args[0]);
	int64_t characters = kql_count_characters(text.str, text.len);
	int64_t start = args[1].is_null ? 0 : args[1].l;
	int64_t length = characters;

	*out = kql_value_string("", 0);
	if (call->call.count == 3) {
		if (args[2].is_null || args[2].l < 0)
			return;
		length = args[2].l;
	}
	if (start < 0)
		start = 0;
	if (start >= characters)
		return;
	size_t from = kql_character_offset(text.str, text.len, start);
	size_t to = from + kql_character_offset(text.str + from, text.len - from, length);

	kql_string_result(context, text.str + from, to - from, out);
}

static void eval_replace_string(struct eval_context *context, const struct expr *call,
				struct value *args, struct value *out)
{
	(void)call;
	struct value text = kql_text_of(context, &args[0]);
	struct value lookup = kql_text_of(context, &args[1]);
	struct value rewrite = kql_text_of(context, &args[2]);
	size_t count = 0;

	if (lookup.len == 0) {
		*out = text;
		return;
	}
	for (const char *at = text.str;
	     (at = memmem(at, text.len - (size_t)(at - text.str), lookup.str, lookup.len));
	     at += lookup.len)
		count++;
	size_t length = text.len - count * lookup.len + count * rewrite.len;
	char *result = kql_scratch_string(context, length);

	*out = kql_value_string("", 0);
	if (!result)
		return;
	size_t used = 0;
	const char *position = text.str;

	for (const char *at; (at = memmem(position, text.len - (size_t)(position - text.str),
					  lookup.str, lookup.len));
	     position = at + lookup.len) {
		memcpy(result + used, position, (size_t)(at - position));
		used += (size_t)(at - position);
		memcpy(result + used, rewrite.str, rewrite.len);
		used += rewrite.len;
	}
	memcpy(result + used, position, text.len - (size_t)(position - text.str));
	used += text.len - (size_t)(position - text.str);
	result[used] = '\0';
	*out = kql_value_string(result, used);
}

static void eval_array_length(struct eval_context *context, const struct expr *call,
			      struct value *args, struct value *out)
{
	(void)context;
	(void)call;
	*out = kql_value_null(VALUE_LONG);
	if (!args[0].is_null && json_is_array(args[0].dyn))
		*out = kql_value_long((int64_t)json_array_size(args[0].dyn));
}

static void eval_coalesce(struct eval_context *context, const struct expr *call,
			  struct value *args, struct value *out)
{
	(void)context;
	for (size_t i = 0; i < call->call.count; i++) {
		if (!is_empty(&args[i])) {
			*out = args[i];
			return;
		}
	}
	*out = args[call->call.count - 1];
}

/* 0001-01-01 in ticks since 1970: Kusto bins datetimes from there. */
#define KUSTO_EPOCH_TICKS (-62135596800LL * TICKS_PER_SECOND)

static int64_t floor_to(int64_t value, int64_t step)
{
	int64_t remainder = value % step;

	if (remainder != 0 && ((remainder < 0) != (step < 0)))
		remainder += step;
	return value - remainder;
}

static void eval_bin(struct eval_context *context, const struct expr *call, struct value *args,
		     struct value *out)
{
	(void)context;
	const struct value *value = &args[0], *step = &args[1];

	*out = kql_value_null(call->type);
	if (value->is_null || step->is_null)
		return;
	switch (call->type) {
	case VALUE_LONG: {
		int64_t size = step->type == VALUE_LONG ? step->l : (int64_t)step->r;

		if (size > 0)
			*out = kql_value_long(floor_to(value->l, size));
		return;
	}
	case VALUE_REAL: {
		double size = step->type == VALUE_LONG ? (double)step->l : step->r;

		if (size > 0) {
			out->is_null = false;
			out->r = __builtin_floor(value->r / size) * size;
		}
		return;
	}
	case VALUE_DATETIME:
		if (step->ticks > 0) {
			out->is_null = false;
			out->ticks = floor_to(value->ticks - KUSTO_EPOCH_TICKS, step->ticks) +
				     KUSTO_EPOCH_TICKS;
		}
		return;
	case VALUE_TIMESPAN:
		if (step->ticks > 0) {
			out->is_null = false;
			out->ticks = floor_to(value->ticks, step->ticks);
		}
		return;
	default:
		return;
	}
}

static void eval_startofday(struct eval_context *context, const struct expr *call,
			    struct value *args, struct value *out)
{
	(void)context;
	(void)call;
	*out = args[0];
	if (!args[0].is_null)
		out->ticks = floor_to(args[0].ticks, TICKS_PER_DAY);
}

#define MANY 64

static const struct function functions[] = {
	{"now", 0, 1, VALUE_DATETIME, true, check_now, eval_now},
	{"ago", 1, 1, VALUE_DATETIME, true, check_now, eval_ago},
	{"isempty", 1, 1, VALUE_BOOL, false, NULL, eval_isempty},
	{"isnotempty", 1, 1, VALUE_BOOL, false, NULL, eval_isnotempty},
	{"notempty", 1, 1, VALUE_BOOL, false, NULL, eval_isnotempty},
	{"isnull", 1, 1, VALUE_BOOL, false, NULL, eval_isnull},
	{"isnotnull", 1, 1, VALUE_BOOL, false, NULL, eval_isnotnull},
	{"notnull", 1, 1, VALUE_BOOL, false, NULL, eval_isnotnull},
	{"tolower", 1, 1, VALUE_STRING, false, NULL, eval_tolower},
	{"toupper", 1, 1, VALUE_STRING, false, NULL, eval_toupper},
	{"strlen", 1, 1, VALUE_LONG, false, NULL, eval_strlen},
	{"tostring", 1, 1, VALUE_STRING, false, NULL, eval_tostring},
	{"tolong", 1, 1, VALUE_LONG, false, NULL, eval_tolong},
	{"toint", 1, 1, VALUE_LONG, false, NULL, eval_tolong},
	{"toreal", 1, 1, VALUE_REAL, false, NULL, eval_toreal},
	{"todouble", 1, 1, VALUE_REAL, false, NULL, eval_toreal},
	{"tobool", 1, 1, VALUE_BOOL, false, NULL, eval_tobool},
	{"toboolean", 1, 1, VALUE_BOOL, false, NULL, eval_tobool},
	{"todatetime", 1, 1, VALUE_DATETIME, false, NULL, eval_todatetime},
	{"totimespan", 1, 1, VALUE_TIMESPAN, false, NULL, eval_totimespan},
	{"parse_json", 1, 1, VALUE_DYNAMIC, false, NULL, eval_parse_json},
	{"todynamic", 1, 1, VALUE_DYNAMIC, false, NULL, eval_parse_json},
	{"split", 2, 3, VALUE_DYNAMIC, false, check_split, eval_split},
	{"trim_start", 2, 2, VALUE_STRING, false, check_trim, eval_trim},
	{"trim_end", 2, 2, VALUE_STRING, false, check_trim, eval_trim},
	{"trim", 2, 2, VALUE_STRING, false, check_trim, eval_trim},
	{"extract", 3, 3, VALUE_STRING, false, check_extract, eval_extract},
	{"strcat", 1, MANY, VALUE_STRING, false, NULL, eval_strcat},
	{"substring", 2, 3, VALUE_STRING, false, check_substring, eval_substring},
	{"replace_string", 3, 3, VALUE_STRING, false, NULL, eval_replace_string},
	{"array_length", 1, 1, VALUE_LONG, false, check_array_length, eval_array_length},
	{"coalesce", 2, MANY, VALUE_BOOL, false, check_coalesce, eval_coalesce},
	{"bin", 2, 2, VALUE_BOOL, false, check_bin, eval_bin},
	{"floor", 2, 2, VALUE_BOOL, false, check_bin, eval_bin},
	{"startofday", 1, 1, VALUE_DATETIME, false, check_startofday, eval_startofday},
	{"not", 1, 1, VALUE_BOOL, false, NULL, NULL},
};

const struct function *kql_function_find(const char *name)
{
	for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++) {
		if (strcmp(functions[i].name, name) == 0)
			return &functions[i];
	}
	for (size_t i = 0; i < kql_text_function_count; i++) {
		if (strcmp(kql_text_functions[i].name, name) == 0)
			return &kql_text_functions[i];
	}
	return NULL;
}
