/*
 * eval.c - evaluating typed expressions on one row.
 *
 * A tree walk over struct expr.  Values that expressions build (strings,
 * dynamic values) go to the row's scratch space; column values are read in
 * place.  Null follows Kusto: comparisons and arithmetic with null give null,
 * and/or use three-valued logic, where keeps only rows whose predicate is
 * true.  kql_eval_predicate() is the fast path for where clauses: it never
 * builds a value for and/or/has/between on columns and constants.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include <jansson.h>

#include "kql/internal.h"

/* 0001-01-01 and 9999-12-31T23:59:59.9999999 in ticks since 1970 */
#define MIN_TICKS (-62135596800LL * TICKS_PER_SECOND)
#define MAX_TICKS (253402300800LL * TICKS_PER_SECOND - 1)

static bool as_real(const struct value *value, double *number)
{
	if (value->is_null)
		return false;
	if (value->type == VALUE_LONG)
		*number = (double)value->l;
	else if (value->type == VALUE_REAL)
		*number = value->r;
	else
		*number = (double)value->ticks;
	return true;
}

static void arith_long(enum op op, int64_t a, int64_t b, struct value *out)
{
	int64_t result = 0;
	bool overflow = false;

	switch (op) {
	case OP_ADD:
		overflow = __builtin_add_overflow(a, b, &result);
		break;
	case OP_SUB:
		overflow = __builtin_sub_overflow(a, b, &result);
		break;
	case OP_MUL:
		overflow = __builtin_mul_overflow(a, b, &result);
		break;
	case OP_DIV:
		overflow = b == 0 || (a == INT64_MIN && b == -1);
		if (!overflow)
			result = a / b;
		break;
	case OP_MOD:
		overflow = b == 0 || (a == INT64_MIN && b == -1);
		if (!overflow)
			result = a % b;
		break;
	default:
		overflow = true;
		break;
	}
	out->is_null = overflow;
	out->l = result;
}

static double arith_double(enum op op, double a, double b)
{
	switch (op) {
	case OP_ADD:
		return a + b;
	case OP_SUB:
		return a - b;
	case OP_MUL:
		return a * b;
	case OP_DIV:
		return a / b;
	case OP_MOD:
		return fmod(a, b);
	default:
		return NAN;
	}
}

void kql_arith_apply(enum op op, const struct value *a, const struct value *b, enum value_type type,
		 struct value *out)
{
	*out = kql_value_null(type);
	if (a->is_null || b->is_null)
		return;
	if (type == VALUE_REAL) {
		double x = 0, y = 0;

		as_real(a, &x);
		as_real(b, &y);
		if (a->type == VALUE_TIMESPAN && b->type == VALUE_TIMESPAN && op == OP_DIV && y == 0)
			return;
		out->is_null = false;
		out->r = arith_double(op, x, y);
		return;
	}
	if (type == VALUE_LONG) {
		arith_long(op, a->l, b->l, out);
		return;
	}
	/* datetime and timespan results: ticks */
	if (a->type == VALUE_REAL || b->type == VALUE_REAL ||
	    ((op == OP_MUL || op == OP_DIV) && (a->type != b->type))) {
		double x = 0, y = 0;

		as_real(a, &x);
		as_real(b, &y);
		double result = arith_double(op, x, y);

		if (isfinite(result) && result > -9.2e18 && result < 9.2e18) {
			out->is_null = false;
			out->ticks = (int64_t)llround(result);
		}
	} else {
		int64_t x = a->type == VALUE_LONG ? a->l : a->ticks;
		int64_t y = b->type == VALUE_LONG ? b->l : b->ticks;
		struct value result;

		arith_long(op, x, y, &result);
		out->is_null = result.is_null;
		out->ticks = result.l;
	}
	if (type == VALUE_DATETIME && !out->is_null && (out->ticks < MIN_TICKS || out->ticks > MAX_TICKS))
		out->is_null = true;
}

/* 1 true, 0 false, -1 null */
static int tristate(const struct value *value)
{
	if (value->is_null)
		return -1;
	return value->b ? 1 : 0;
}

static int eval_tristate(const struct expr *expr, struct eval_context *context)
{
	struct value value;

	kql_eval_expr(expr, context, &value);
	return tristate(&value);
}

static struct value bool_or_null(int state)
{
	return state < 0 ? kql_value_null(VALUE_BOOL) : kql_value_bool(state == 1);
}

static bool compare_holds(enum op op, int order)
{
	switch (op) {
	case OP_EQ:
		return order == 0;
	case OP_NE:
		return order != 0;
	case OP_LT:
		return order < 0;
	case OP_LE:
		return order <= 0;
	case OP_GT:
		return order > 0;
	case OP_GE:
		return order >= 0;
	default:
		return false;
	}
}

static int eval_compare(const struct expr *expr, struct eval_context *context)
{
	struct value left, right;

	kql_eval_expr(expr->binary.left, context, &left);
	kql_eval_expr(expr->binary.right, context, &right);
	if (left.is_null || right.is_null)
		return -1;
	if (left.type == VALUE_DYNAMIC) {
		bool equal = json_equal(left.dyn, right.dyn);

		return (expr->binary.op == OP_EQ) == equal;
	}
	if (left.type == VALUE_REAL || right.type == VALUE_REAL) {
		double x = 0, y = 0;

		as_real(&left, &x);
		as_real(&right, &y);
		if (isnan(x) || isnan(y))
			return expr->binary.op == OP_NE;
	}
	return compare_holds(expr->binary.op, kql_value_compare(&left, &right));
}

bool kql_eval_string(const struct expr *expr, struct eval_context *context, struct value *out)
{
	kql_eval_expr(expr, context, out);
	return true;
}

static bool string_match(const struct expr *expr, struct eval_context *context)
{
	struct value left;
	bool matched;

	kql_eval_expr(expr->string.left, context, &left);
	if (expr->string.constant) {
		matched = kql_needle_match(&expr->string.needle, left.str, left.len);
	} else {
		struct value right;

		kql_eval_expr(expr->string.right, context, &right);
		matched = kql_string_match(expr->string.match.kind, expr->string.match.case_sensitive,
					   left.str, left.len, right.str, right.len);
	}
	return matched != expr->string.match.negate;
}

static bool set_negated(enum set_op op)
{
	return op == SET_NOT_IN || op == SET_NOT_IN_CI;
}

/* One element of a per-row list against the left value. */
static bool item_matches(enum set_op op, const struct value *left, const struct value *item,
			 struct eval_context *context)
{
	if (item->type == VALUE_DYNAMIC && !item->is_null && json_is_array(item->dyn)) {
		size_t index;
		json_t *element;
		bool all = true;

		json_array_foreach(item->dyn, index, element) {
			struct value inner;
			bool matched;

			kql_value_from_json(element, VALUE_DYNAMIC, &inner);
			matched = item_matches(op, left, &inner, context);
			if (matched && op != SET_HAS_ALL)
				return true;
			all = all && matched;
		}
		return op == SET_HAS_ALL && all;
	}
	struct match_set single = {0};
	bool matched = false;

	single.op = op;
	single.type = left->type;
	/* a one-element set: same conversions as constant lists */
	if (kql_match_set_add_converted(&single, item, context->scratch) < 0)
		context->error = -ENOMEM;
	else if (single.needle_count || single.values.count)
		matched = kql_match_set_test(&single, left);
	kql_match_set_free(&single);
	return matched;
}

static int eval_set(const struct expr *expr, struct eval_context *context)
{
	struct value left;
	enum set_op op = expr->set.op;
	const struct match_set *set = expr->set.set;
	bool matched;

	kql_eval_expr(expr->set.left, context, &left);
	if (left.is_null)
		return set_negated(op);
	if (expr->set.set_slot >= 0)
		set = context->slots->sets[expr->set.set_slot];
	if (set) {
		matched = kql_match_set_test(set, &left);
	} else {
		matched = op == SET_HAS_ALL;
		for (size_t i = 0; i < expr->set.count; i++) {
			struct value item;
			bool one;

			kql_eval_expr(expr->set.items[i], context, &item);
			one = item_matches(op, &left, &item, context);
			if (op == SET_HAS_ALL && !one) {
				matched = false;
				break;
			}
			if (op != SET_HAS_ALL && one) {
				matched = true;
				break;
			}
		}
	}
	return matched != set_negated(op);
}

static int eval_between(const struct expr *expr, struct eval_context *context)
{
	struct value value, low, high;

	kql_eval_expr(expr->between.value, context, &value);
	if (value.is_null)
		return -1;
	kql_eval_expr(expr->between.low, context, &low);
	kql_eval_expr(expr->between.high, context, &high);
	if (low.is_null || high.is_null)
		return -1;
	bool inside = kql_value_compare(&value, &low) >= 0 && kql_value_compare(&value, &high) <= 0;

	if (value.type == VALUE_REAL && isnan(value.r))
		inside = false;
	return inside != expr->between.negate;
}

static void eval_member(const struct expr *expr, struct eval_context *context, struct value *out)
{
	struct value base;
	json_t *found = NULL;

	if (kql_json_member_fast(expr, context, &base, out))
		return;
	*out = kql_value_null(VALUE_DYNAMIC);
	if (base.is_null)
		return;
	if (expr->kind == EXPR_MEMBER) {
		found = json_object_get(base.dyn, expr->member.name);
	} else {
		struct value index;

		kql_eval_expr(expr->member.index, context, &index);
		if (index.type == VALUE_STRING) {
			found = json_object_get(base.dyn, index.str);
		} else if (!index.is_null && json_is_array(base.dyn)) {
			int64_t position = index.l;
			int64_t size = (int64_t)json_array_size(base.dyn);

			if (position < 0)
				position += size;
			if (position >= 0 && position < size)
				found = json_array_get(base.dyn, (size_t)position);
		}
	}
	if (found) {
		out->is_null = false;
		out->dyn = found; /* borrowed from base, which the scratch or row keeps */
	}
}

static void eval_call(const struct expr *expr, struct eval_context *context, struct value *out)
{
	struct value args[64];
	size_t count = expr->call.count < 64 ? expr->call.count : 64;

	for (size_t i = 0; i < count; i++)
		kql_eval_expr(expr->call.args[i], context, &args[i]);
	expr->call.function->eval(context, expr, args, out);
}

static bool regex_matches(const struct expr *expr, struct eval_context *context)
{
	struct value text;

	kql_eval_expr(expr->regex.operand, context, &text);
	return kql_regex_search(expr->regex.regex, text.str, text.len, 0, NULL, 0) == 1;
}

/* Capture group g (1-based) of a parse as a value of type (null: does not convert). */
static void parse_value(const char *text, const struct kql_regex_span *span, enum value_type type,
			struct eval_context *context, struct value *out)
{
	struct value string;

	kql_string_result(context, text + span->start, span->end - span->start, &string);
	switch (type) {
	case VALUE_STRING:
		*out = string;
		return;
	case VALUE_LONG:
		kql_value_to_long(&string, out);
		return;
	case VALUE_REAL:
		kql_value_to_real(&string, out);
		return;
	case VALUE_BOOL:
		kql_value_to_bool(&string, out);
		return;
	case VALUE_DATETIME:
		kql_value_to_datetime(&string, out);
		return;
	case VALUE_TIMESPAN:
		kql_value_to_timespan(&string, out);
		return;
	case VALUE_DYNAMIC: {
		json_t *json = json_loadb(string.str, string.len, JSON_DECODE_ANY, NULL);

		kql_dynamic_result(context, json ? json : kql_json_string_lossy(string.str, string.len),
				   out);
		return;
	}
	}
	*out = kql_value_null(type);
}

#define PARSE_SPANS 65

/*
 * One column of the parse operator (group > 0), or whether the row parses
 * (group 0).  Without kind=relaxed a row parses only when the pattern
 * matches and every typed column converts; otherwise all its columns are
 * null ("" for strings).
 */
static void eval_parse(const struct expr *expr, struct eval_context *context, struct value *out)
{
	const struct parse_plan *plan = expr->parse.plan;
	struct kql_regex_span spans[PARSE_SPANS];
	struct value text, converted;
	size_t group = expr->parse.group;

	kql_eval_expr(expr->parse.operand, context, &text);
	bool parsed = kql_regex_search(plan->regex, text.str, text.len, 0, spans,
				       plan->count + 1) == 1;

	for (size_t g = 1; parsed && !plan->relaxed && g <= plan->count; g++) {
		if (plan->types[g - 1] == VALUE_STRING || !spans[g].set)
			continue;
		parse_value(text.str, &spans[g], plan->types[g - 1], context, &converted);
		parsed = !converted.is_null;
	}
	if (group == 0) {
		*out = kql_value_bool(parsed);
		return;
	}
	if (!parsed || !spans[group].set) {
		*out = expr->type == VALUE_STRING ? kql_value_string("", 0) : kql_value_null(expr->type);
		return;
	}
	parse_value(text.str, &spans[group], expr->type, context, out);
	out->type = expr->type;
}

void kql_eval_expr(const struct expr *expr, struct eval_context *context, struct value *out)
{
	switch (expr->kind) {
	case EXPR_CONST:
		*out = expr->constant;
		return;
	case EXPR_SLOT:
		*out = context->slots->values[expr->slot];
		return;
	case EXPR_COLUMN:
		*out = context->row[expr->column];
		return;
	case EXPR_NOW:
		*out = kql_value_null(VALUE_DATETIME);
		out->is_null = false;
		out->ticks = context->now;
		return;
	case EXPR_ARITH: {
		struct value left, right;

		kql_eval_expr(expr->binary.left, context, &left);
		kql_eval_expr(expr->binary.right, context, &right);
		kql_arith_apply(expr->binary.op, &left, &right, expr->type, out);
		return;
	}
	case EXPR_NEGATE: {
		struct value zero = kql_value_long(0);
		struct value operand;

		kql_eval_expr(expr->operand, context, &operand);
		kql_arith_apply(OP_SUB, &zero, &operand, expr->type, out);
		if (expr->type == VALUE_REAL && !operand.is_null)
			out->r = -operand.r;
		return;
	}
	case EXPR_COMPARE:
		*out = bool_or_null(eval_compare(expr, context));
		return;
	case EXPR_AND: {
		int left = eval_tristate(expr->binary.left, context);

		if (left == 0) {
			*out = kql_value_bool(false);
			return;
		}
		int right = eval_tristate(expr->binary.right, context);

		*out = right == 0 ? kql_value_bool(false) : bool_or_null(left < 0 || right < 0 ? -1 : 1);
		return;
	}
	case EXPR_OR: {
		int left = eval_tristate(expr->binary.left, context);

		if (left == 1) {
			*out = kql_value_bool(true);
			return;
		}
		int right = eval_tristate(expr->binary.right, context);

		*out = right == 1 ? kql_value_bool(true) : bool_or_null(left < 0 || right < 0 ? -1 : 0);
		return;
	}
	case EXPR_NOT: {
		int state = eval_tristate(expr->operand, context);

		*out = bool_or_null(state < 0 ? -1 : !state);
		return;
	}
	case EXPR_STRING:
		*out = kql_value_bool(string_match(expr, context));
		return;
	case EXPR_SET:
		*out = kql_value_bool(eval_set(expr, context));
		return;
	case EXPR_BETWEEN:
		*out = bool_or_null(eval_between(expr, context));
		return;
	case EXPR_REGEX:
		*out = kql_value_bool(regex_matches(expr, context));
		return;
	case EXPR_CALL:
		eval_call(expr, context, out);
		return;
	case EXPR_MEMBER:
	case EXPR_INDEX:
		eval_member(expr, context, out);
		return;
	case EXPR_IFF: {
		int condition = eval_tristate(expr->iff.condition, context);

		kql_eval_expr(condition == 1 ? expr->iff.then : expr->iff.otherwise, context, out);
		return;
	}
	case EXPR_PARSE:
		eval_parse(expr, context, out);
		return;
	}
	*out = kql_value_null(expr->type);
}

bool kql_eval_predicate(const struct expr *expr, struct eval_context *context)
{
	switch (expr->kind) {
	case EXPR_AND:
		return kql_eval_predicate(expr->binary.left, context) &&
		       kql_eval_predicate(expr->binary.right, context);
	case EXPR_OR:
		return kql_eval_predicate(expr->binary.left, context) ||
		       kql_eval_predicate(expr->binary.right, context);
	case EXPR_STRING:
		if (expr->string.constant && expr->string.left->kind == EXPR_COLUMN) {
			const struct value *column = &context->row[expr->string.left->column];

			return kql_needle_match(&expr->string.needle, column->str, column->len) !=
			       expr->string.match.negate;
		}
		return string_match(expr, context);
	case EXPR_SET:
		return eval_set(expr, context) == 1;
	case EXPR_BETWEEN:
		return eval_between(expr, context) == 1;
	case EXPR_COMPARE:
		return eval_compare(expr, context) == 1;
	default: {
		struct value value;

		kql_eval_expr(expr, context, &value);
		return tristate(&value) == 1;
	}
	}
}
