/*
 * functions_text.c - KQL's text functions beyond the basic ones of
 * functions.c: indexof, countof, base64 encoding and decoding,
 * replace_regex (with its legacy form replace), parse_command_line and
 * pack_array.  Each follows its Kusto
 * documentation; positions count characters, not bytes.  The table at the
 * end is searched by kql_function_find() after functions.c's own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/text.h"
#include "kql/internal.h"

static int check_returns(struct expr *call, enum value_type type)
{
	call->type = type;
	return 0;
}

static bool is_integer(enum value_type type)
{
	return type == VALUE_LONG;
}

/* ---- indexof ---------------------------------------------------------------- */

static int check_indexof(struct expr *call, char *message, size_t size)
{
	for (size_t i = 2; i < call->call.count; i++) {
		if (!is_integer(call->call.args[i]->type)) {
			snprintf(message, size, "indexof(): argument %zu must be a long, found a %s",
				 i + 1, value_type_name(call->call.args[i]->type));
			return -EINVAL;
		}
	}
	return check_returns(call, VALUE_LONG);
}

/*
 * The first match of lookup starting at character from or later and lying
 * within [from, from + length) characters (length < 0: to the end); -1 none.
 */
static int64_t find_within(const char *text, size_t text_length, int64_t characters,
			   const struct value *lookup, int64_t from, int64_t length)
{
	int64_t limit = length < 0 ? characters : from + length;
	int64_t lookup_characters = kql_count_characters(lookup->str, lookup->len);
	size_t offset = kql_character_offset(text, text_length, from);

	if (limit > characters)
		limit = characters;
	for (int64_t position = from; position + lookup_characters <= limit; position++) {
		if (offset + lookup->len <= text_length &&
		    memcmp(text + offset, lookup->str, lookup->len) == 0)
			return position;
		size_t step = utf8_sequence_length((const unsigned char *)text + offset,
						   text_length - offset);

		offset += step ? step : 1;
	}
	return -1;
}

/*
 * indexof(string, match [, start [, length [, occurrence]]]): a negative start
 * counts from the end; each further occurrence is searched from one past the
 * previous one, with the same length (Kusto's documented examples).
 */
static void eval_indexof(struct eval_context *context, const struct expr *call,
			 struct value *args, struct value *out)
{
	struct value text = kql_text_of(context, &args[0]);
	struct value lookup = kql_text_of(context, &args[1]);
	int64_t characters = kql_count_characters(text.str, text.len);
	int64_t start = call->call.count > 2 ? args[2].l : 0;
	int64_t length = call->call.count > 3 ? args[3].l : -1;
	int64_t occurrence = call->call.count > 4 ? args[4].l : 1;

	*out = kql_value_null(VALUE_LONG);
	for (size_t i = 2; i < call->call.count; i++) {
		if (args[i].is_null)
			return;
	}
	if (length < -1 || occurrence < 0)
		return;
	if (start < 0)
		start = characters + start < 0 ? 0 : characters + start;
	int64_t found = -1;

	for (int64_t n = 0; n < occurrence; n++) {
		if (start > characters) {
			found = -1;
			break;
		}
		found = find_within(text.str, text.len, characters, &lookup, start, length);
		if (found < 0)
			break;
		start = found + 1;
	}
	*out = kql_value_long(occurrence == 0 ? -1 : found);
}

/* ---- countof ----------------------------------------------------------------- */

static int check_countof(struct expr *call, char *message, size_t size)
{
	if (call->call.count == 3) {
		const struct expr *kind = call->call.args[2];

		if (kind->kind != EXPR_CONST || kind->type != VALUE_STRING ||
		    (strcmp(kind->constant.str, "normal") != 0 &&
		     strcmp(kind->constant.str, "regex") != 0)) {
			snprintf(message, size,
				 "countof(): the kind must be the constant 'normal' or 'regex'");
			return -EINVAL;
		}
		if (strcmp(kind->constant.str, "regex") == 0 &&
		    kql_prepare_regex(call, 1, 0, 0, 0, message, size) < 0)
			return -EINVAL;
	}
	return check_returns(call, VALUE_LONG);
}

/* countof(text, search [, kind]): normal counts overlapping occurrences,
 * regex the matches one after the other. */
static void eval_countof(struct eval_context *context, const struct expr *call,
			 struct value *args, struct value *out)
{
	struct value text = kql_text_of(context, &args[0]);
	int64_t count = 0;

	if (call->call.regexes[0]) {
		struct kql_regex_span match[1];
		size_t offset = 0;

		while (offset <= text.len &&
		       kql_regex_search(call->call.regexes[0], text.str, text.len, offset, match, 1) == 1) {
			count++;
			offset = match[0].end > match[0].start ? match[0].end : match[0].end + 1;
		}
		*out = kql_value_long(count);
		return;
	}
	struct value search = kql_text_of(context, &args[1]);

	for (const char *at = text.str; search.len > 0 && at < text.str + text.len; at++) {
		at = memmem(at, text.len - (size_t)(at - text.str), search.str, search.len);
		if (!at)
			break;
		count++;
	}
	*out = kql_value_long(count);
}

/* ---- base64 ---------------------------------------------------------------------- */

static int base64_digit(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decodes standard base64 (padding optional) into out (3 * length / 4 + 3
 * bytes); returns the byte count, or -1 when text is not base64.
 */
static long base64_decode(const char *text, size_t length, unsigned char *out)
{
	size_t used = 0;
	unsigned bits = 0, value = 0;

	while (length > 0 && text[length - 1] == '=')
		length--;
	for (size_t i = 0; i < length; i++) {
		int digit = base64_digit((unsigned char)text[i]);

		if (digit < 0)
			return -1;
		value = (value << 6) | (unsigned)digit;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[used++] = (unsigned char)(value >> bits);
			value &= (1u << bits) - 1;
		}
	}
	if (bits >= 6) /* a lone sixth bit group is not base64 */
		return -1;
	return (long)used;
}

static const char base64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* base64_decode_tostring(s): the UTF-8 text s encodes; "" when s is not
 * base64 or the bytes are not UTF-8 (Kusto: null). */
static void eval_base64_decode_tostring(struct eval_context *context, const struct expr *call,
					struct value *args, struct value *out)
{
	(void)call;
	struct value text = kql_text_of(context, &args[0]);
	char *bytes = kql_scratch_string(context, text.len);

	*out = kql_value_string("", 0);
	if (!bytes)
		return;
	long length = base64_decode(text.str, text.len, (unsigned char *)bytes);

	if (length < 0 || !utf8_is_valid(bytes, (size_t)length))
		return;
	bytes[length] = '\0';
	*out = kql_value_string(bytes, (size_t)length);
}

/* base64_decode_toarray(s): the bytes as an array of longs; null when not base64. */
static void eval_base64_decode_toarray(struct eval_context *context, const struct expr *call,
				       struct value *args, struct value *out)
{
	(void)call;
	struct value text = kql_text_of(context, &args[0]);
	unsigned char *bytes = (unsigned char *)kql_scratch_string(context, text.len);

	*out = kql_value_null(VALUE_DYNAMIC);
	if (!bytes)
		return;
	long length = base64_decode(text.str, text.len, bytes);

	if (length < 0)
		return;
	json_t *array = json_array();

	for (long i = 0; array && i < length; i++) {
		if (json_array_append_new(array, json_integer(bytes[i])) < 0) {
			json_decref(array);
			array = NULL;
		}
	}
	kql_dynamic_result(context, array, out);
}

static void eval_base64_encode_tostring(struct eval_context *context, const struct expr *call,
					struct value *args, struct value *out)
{
	(void)call;
	struct value text = kql_text_of(context, &args[0]);
	char *encoded = kql_scratch_string(context, (text.len + 2) / 3 * 4);
	const unsigned char *bytes = (const unsigned char *)text.str;
	size_t used = 0;

	*out = kql_value_string("", 0);
	if (!encoded)
		return;
	for (size_t i = 0; i < text.len; i += 3) {
		unsigned value = (unsigned)bytes[i] << 16;
		size_t left = text.len - i;

		if (left > 1)
			value |= (unsigned)bytes[i + 1] << 8;
		if (left > 2)
			value |= bytes[i + 2];
		encoded[used++] = base64_alphabet[(value >> 18) & 63];
		encoded[used++] = base64_alphabet[(value >> 12) & 63];
		encoded[used++] = (char)(left > 1 ? base64_alphabet[(value >> 6) & 63] : '=');
		encoded[used++] = (char)(left > 2 ? base64_alphabet[value & 63] : '=');
	}
	encoded[used] = '\0';
	*out = kql_value_string(encoded, used);
}

/* ---- replace_regex ------------------------------------------------------------- */

static int check_replace(struct expr *call, char *message, size_t size)
{
	/* replace_regex(text, regex, rewrite); legacy replace(regex, rewrite, text) */
	size_t pattern = strcmp(call->call.function->name, "replace") == 0 ? 0 : 1;

	if (kql_prepare_regex(call, pattern, 0, 0, 0, message, size) < 0)
		return -EINVAL;
	return check_returns(call, VALUE_STRING);
}

/* Bytes the rewrite of one match takes (\0..\9 are groups, \\ a backslash). */
static size_t rewrite_length(const struct value *rewrite, const struct kql_regex_span *groups,
			     size_t group_count)
{
	size_t length = 0;

	for (size_t i = 0; i < rewrite->len; i++) {
		char c = rewrite->str[i];

		if (c == '\\' && i + 1 < rewrite->len && rewrite->str[i + 1] >= '0' &&
		    rewrite->str[i + 1] <= '9') {
			size_t group = (size_t)(rewrite->str[++i] - '0');

			if (group < group_count && groups[group].set)
				length += groups[group].end - groups[group].start;
			continue;
		}
		if (c == '\\' && i + 1 < rewrite->len && rewrite->str[i + 1] == '\\')
			i++;
		length++;
	}
	return length;
}

static size_t rewrite_write(char *out, const char *text, const struct value *rewrite,
			    const struct kql_regex_span *groups, size_t group_count)
{
	size_t used = 0;

	for (size_t i = 0; i < rewrite->len; i++) {
		char c = rewrite->str[i];

		if (c == '\\' && i + 1 < rewrite->len && rewrite->str[i + 1] >= '0' &&
		    rewrite->str[i + 1] <= '9') {
			size_t group = (size_t)(rewrite->str[++i] - '0');

			if (group < group_count && groups[group].set) {
				memcpy(out + used, text + groups[group].start,
				       groups[group].end - groups[group].start);
				used += groups[group].end - groups[group].start;
			}
			continue;
		}
		if (c == '\\' && i + 1 < rewrite->len && rewrite->str[i + 1] == '\\')
			i++;
		out[used++] = rewrite->str[i];
	}
	return used;
}

#define REWRITE_GROUPS 10

/* Every non-overlapping match replaced by rewrite, in two passes (size, then text). */
static void eval_replace(struct eval_context *context, const struct expr *call,
			 struct value *args, struct value *out)
{
	bool legacy = strcmp(call->call.function->name, "replace") == 0;
	struct value text = kql_text_of(context, &args[legacy ? 2 : 0]);
	struct value rewrite = kql_text_of(context, &args[legacy ? 1 : 2]);
	struct kql_regex *regex = call->call.regexes[0];
	struct kql_regex_span groups[REWRITE_GROUPS];
	char *result = NULL;
	size_t total = 0;

	*out = kql_value_string("", 0);
	for (int pass = 0; pass < 2; pass++) {
		size_t offset = 0, copied = 0, used = 0;

		while (offset <= text.len &&
		       kql_regex_search(regex, text.str, text.len, offset, groups, REWRITE_GROUPS) == 1) {
			size_t before = groups[0].start - copied;

			if (pass == 1) {
				memcpy(result + used, text.str + copied, before);
				used += before;
				used += rewrite_write(result + used, text.str, &rewrite, groups,
						      REWRITE_GROUPS);
			} else {
				total += before + rewrite_length(&rewrite, groups, REWRITE_GROUPS);
			}
			copied = groups[0].end;
			if (groups[0].end > groups[0].start) {
				offset = groups[0].end;
				continue;
			}
			/* an empty match: keep the next character and move past it */
			if (groups[0].end >= text.len)
				break;
			size_t step = utf8_sequence_length((const unsigned char *)text.str + offset,
							   text.len - offset);

			offset = groups[0].end + (step ? step : 1);
		}
		if (pass == 0) {
			total += text.len - copied;
			result = kql_scratch_string(context, total);
			if (!result)
				return;
			continue;
		}
		memcpy(result + used, text.str + copied, text.len - copied);
		used += text.len - copied;
		result[used] = '\0';
		*out = kql_value_string(result, used);
	}
}

/* ---- parse_command_line ------------------------------------------------------ */

static int check_parse_command_line(struct expr *call, char *message, size_t size)
{
	const struct expr *kind = call->call.args[1];

	if (kind->kind != EXPR_CONST || kind->type != VALUE_STRING ||
	    strcmp(kind->constant.str, "windows") != 0) {
		snprintf(message, size,
			 "parse_command_line(): the parser must be the constant 'windows'");
		return -EINVAL;
	}
	return check_returns(call, VALUE_DYNAMIC);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * One argument of a Windows command line from text[*at] (CommandLineToArgvW
 * rules): 2n backslashes and a quote are n backslashes and a quote that
 * opens or closes quoting, 2n+1 and a quote n backslashes and a literal
 * quote, other backslashes are themselves; "" inside quotes is a quote.
 * The program name (first) only knows quotes.
 */
static size_t command_argument(const char *text, size_t length, size_t *at, char *out,
			       bool first)
{
	size_t used = 0, i = *at;
	bool quoted = false;

	while (i < length && (quoted || !is_blank(text[i]))) {
		if (text[i] == '"') {
			if (!first && quoted && i + 1 < length && text[i + 1] == '"') {
				out[used++] = '"';
				i += 2;
				continue;
			}
			quoted = !quoted;
			i++;
			continue;
		}
		if (text[i] != '\\' || first) {
			out[used++] = text[i++];
			continue;
		}
		size_t backslashes = 0;

		while (i < length && text[i] == '\\') {
			backslashes++;
			i++;
		}
		bool quote = i < length && text[i] == '"';
		size_t kept = quote ? backslashes / 2 : backslashes;

		memset(out + used, '\\', kept);
		used += kept;
		if (quote && backslashes % 2 == 1) {
			out[used++] = '"';
			i++;
		}
	}
	*at = i;
	return used;
}

/* parse_command_line(text, 'windows'): the arguments as a dynamic array of strings. */
static void eval_parse_command_line(struct eval_context *context, const struct expr *call,
				    struct value *args, struct value *out)
{
	(void)call;
	struct value text = kql_text_of(context, &args[0]);
	char *argument = kql_scratch_string(context, text.len);
	json_t *array = json_array();
	size_t at = 0;

	if (!argument) {
		json_decref(array);
		*out = kql_value_null(VALUE_DYNAMIC);
		return;
	}
	for (bool first = true; array; first = false) {
		while (at < text.len && is_blank(text.str[at]))
			at++;
		if (at >= text.len)
			break;
		size_t length = command_argument(text.str, text.len, &at, argument, first);
		json_t *item = kql_json_string_lossy(argument, length);

		if (!item || json_array_append_new(array, item) < 0) {
			json_decref(array);
			array = NULL;
		}
	}
	kql_dynamic_result(context, array, out);
}

/* pack_array(a, ...): a dynamic array of the values. */
static void eval_pack_array(struct eval_context *context, const struct expr *call,
			    struct value *args, struct value *out)
{
	json_t *array = json_array();

	for (size_t i = 0; array && i < call->call.count; i++) {
		json_t *item = kql_value_to_json(&args[i]);

		if (!item || json_array_append_new(array, item) < 0) {
			json_decref(array);
			array = NULL;
		}
	}
	kql_dynamic_result(context, array, out);
}

const struct function kql_text_functions[] = {
	{"indexof", 2, 5, VALUE_LONG, false, check_indexof, eval_indexof},
	{"countof", 2, 3, VALUE_LONG, false, check_countof, eval_countof},
	{"base64_decode_tostring", 1, 1, VALUE_STRING, false, NULL, eval_base64_decode_tostring},
	{"base64_decodestring", 1, 1, VALUE_STRING, false, NULL, eval_base64_decode_tostring},
	{"base64_decode_toarray", 1, 1, VALUE_DYNAMIC, false, NULL, eval_base64_decode_toarray},
	{"base64_encode_tostring", 1, 1, VALUE_STRING, false, NULL, eval_base64_encode_tostring},
	{"base64_encodestring", 1, 1, VALUE_STRING, false, NULL, eval_base64_encode_tostring},
	{"replace_regex", 3, 3, VALUE_STRING, false, check_replace, eval_replace},
	{"replace", 3, 3, VALUE_STRING, false, check_replace, eval_replace},
	{"parse_command_line", 2, 2, VALUE_DYNAMIC, false, check_parse_command_line,
	 eval_parse_command_line},
	{"pack_array", 1, 64, VALUE_DYNAMIC, false, NULL, eval_pack_array},
};

const size_t kql_text_function_count = sizeof(kql_text_functions) / sizeof(kql_text_functions[0]);
