/*
 * json_member.c - parse_json(text).Name read from the text, without a tree.
 *
 * A rule such as tostring(parse_json(AdditionalFields).GoMainPackage)
 * reads one member of a flat object, once per record; building jansson's
 * tree of the whole object (a hash table and an allocation per member) for
 * it was most of a record's rule cost.  Here the strict scanner
 * (base/json_scan.h) walks the text in place, checks all of it, and only
 * the member's own value is parsed by jansson.  The answer is exactly the
 * tree's: the last member of that name wins (as json_object_set does), an
 * absent member is null.  Whatever the strict scanner does not accept
 * (anything but an object, \u0000, numbers it refuses, too deep nesting,
 * bad text) returns "not decided" and the caller builds the tree as before,
 * so jansson's own answer (or its refusal: the text as a string) stands.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kql/internal.h"
#include "base/json_scan.h"

static bool is_parse_json_call(const struct expr *expr)
{
	if (expr->kind != EXPR_CALL || expr->call.count != 1)
		return false;
	return strcmp(expr->call.function->name, "parse_json") == 0 ||
	       strcmp(expr->call.function->name, "todynamic") == 0;
}

/* 1 when the key is name, 0 when not, -ENOMEM. */
static int key_equals(const struct json_scan_value *key, const char *name, size_t name_length)
{
	char small[128];
	char *decoded = small;
	size_t length;
	int equal;

	if (!key->escaped)
		return key->raw_length == name_length && memcmp(key->raw, name, name_length) == 0;
	if (key->raw_length + 1 > sizeof(small) && !(decoded = malloc(key->raw_length + 1)))
		return -ENOMEM;
	length = json_scan_decode(key, decoded);
	equal = length == name_length && memcmp(decoded, name, name_length) == 0;
	if (decoded != small)
		free(decoded);
	return equal;
}

/*
 * The text of the last member called name: 1 (start, end set), 0 absent,
 * -1 when the text is not an object the strict scanner accepts whole.
 */
static int find_member(const char *text, size_t length, const char *name, const char **start,
		       const char **end)
{
	size_t name_length = strlen(name);
	struct json_scan_value value, key;
	struct json_scan scan;
	int more, found = 0;

	json_scan_init(&scan, text, length);
	if (json_scan_value(&scan, &value) != 0 || value.kind != JSON_SCAN_OBJECT)
		return -1;
	while ((more = json_scan_member(&scan, &key)) == 1) {
		const char *value_start = scan.position;
		int match = key_equals(&key, name, name_length);

		if (match < 0 || json_scan_value(&scan, &value) != 0)
			return -1;
		if ((value.kind == JSON_SCAN_OBJECT || value.kind == JSON_SCAN_ARRAY) &&
		    json_scan_skip(&scan, value.kind) != 0)
			return -1;
		if (match == 1) {
			*start = value_start;
			*end = scan.position;
			found = 1;
		}
	}
	if (more < 0 || json_scan_finish(&scan) != 0)
		return -1;
	return found;
}

/*
 * Without a backslash in text, every key in it is written as it reads: a
 * key name would show as the bytes of name.  When they do not occur,
 * parse_json(text).name is null, whatever text is (an object without the
 * member, another JSON value, or not JSON at all: a string).  Two library
 * scans instead of a parse: most records lack the member a rule reads.
 */
static bool surely_absent(const char *text, size_t length, const char *name)
{
	size_t name_length = strlen(name);

	return name_length > 0 && !memchr(text, '\\', length) &&
	       !memmem(text, length, name, name_length);
}

/*
 * expr is parse_json(X).Name.  Evaluates X once: decides the member from
 * the text (true, out set), or leaves in base what parse_json(X) gives for
 * the caller's usual lookup (false).
 */
bool kql_json_member_fast(const struct expr *expr, struct eval_context *context,
			  struct value *base, struct value *out)
{
	const struct expr *call = expr->member.base;
	const char *start = NULL, *end = NULL;
	struct value text;
	json_t *json;
	int found;

	if (expr->kind != EXPR_MEMBER || !is_parse_json_call(call)) {
		kql_eval_expr(call, context, base);
		return false;
	}
	kql_eval_expr(call->call.args[0], context, &text);
	if (text.type == VALUE_STRING && !text.is_null &&
	    surely_absent(text.str, text.len, expr->member.name)) {
		*out = kql_value_null(VALUE_DYNAMIC);
		return true;
	}
	found = text.type == VALUE_STRING && !text.is_null
			? find_member(text.str, text.len, expr->member.name, &start, &end)
			: -1;
	if (found == 0) {
		*out = kql_value_null(VALUE_DYNAMIC);
		return true;
	}
	if (found == 1) {
		json = json_loadb(start, (size_t)(end - start), JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		if (json) {
			kql_dynamic_result(context, json, out);
			return true;
		}
	}
	call->call.function->eval(context, call, &text, base);
	return false;
}
