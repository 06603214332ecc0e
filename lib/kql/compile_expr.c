/*
 * kql_compile_expr.c - scalar expressions: names, types, constant folding.
 *
 * Turns a syntax tree of a scalar expression into a typed struct expr tree
 * against the columns of the current row (a relation).  Names resolve to
 * columns first, then to scalar lets.  Every node knows what it depends on
 * (the row, now(), a table read at execution): nodes that depend on nothing
 * are evaluated here and become constants (so needles of has/has_any are
 * prepared once), and kql_compile_finish() moves subtrees that depend on now()
 * but not on the row into per-execution slots.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "kql/internal.h"

int kql_compile_fail(struct compiler *compiler, enum kql_error_kind kind, size_t offset,
		 const char *format, ...)
{
	va_list args;
	char message[sizeof(compiler->error->message)];

	va_start(args, format);
	vsnprintf(message, sizeof(message), format, args);
	va_end(args);
	kql_error_set_message(compiler->error, kind, offset, message);
	return kind == KQL_ERROR_NOMEM ? -ENOMEM : -EINVAL;
}

static void *out_of_memory(struct compiler *compiler, size_t offset)
{
	kql_compile_fail(compiler, KQL_ERROR_NOMEM, offset, "out of memory");
	return NULL;
}

struct expr *kql_expr_new(struct compiler *compiler, enum expr_kind kind, enum value_type type,
		      size_t offset)
{
	struct expr *expr = arena_alloc(&compiler->query->arena, sizeof(*expr));

	if (!expr)
		return out_of_memory(compiler, offset);
	expr->kind = kind;
	expr->type = type;
	expr->offset = offset;
	expr->set.set_slot = -1;
	return expr;
}

static bool is_numeric(enum value_type type)
{
	return type == VALUE_LONG || type == VALUE_REAL;
}

/* ---- walking ------------------------------------------------------------ */

void kql_expr_visit(struct expr *expr, void (*visit)(struct expr **child, void *data), void *data)
{
	switch (expr->kind) {
	case EXPR_CONST:
	case EXPR_SLOT:
	case EXPR_COLUMN:
	case EXPR_NOW:
		return;
	case EXPR_ARITH:
	case EXPR_COMPARE:
	case EXPR_AND:
	case EXPR_OR:
		visit(&expr->binary.left, data);
		visit(&expr->binary.right, data);
		return;
	case EXPR_NEGATE:
	case EXPR_NOT:
		visit(&expr->operand, data);
		return;
	case EXPR_STRING:
		visit(&expr->string.left, data);
		visit(&expr->string.right, data);
		return;
	case EXPR_SET:
		visit(&expr->set.left, data);
		for (size_t i = 0; i < expr->set.count; i++)
			visit(&expr->set.items[i], data);
		return;
	case EXPR_BETWEEN:
		visit(&expr->between.value, data);
		visit(&expr->between.low, data);
		visit(&expr->between.high, data);
		return;
	case EXPR_REGEX:
		visit(&expr->regex.operand, data);
		return;
	case EXPR_CALL:
		for (size_t i = 0; i < expr->call.count; i++)
			visit(&expr->call.args[i], data);
		return;
	case EXPR_MEMBER:
	case EXPR_INDEX:
		visit(&expr->member.base, data);
		if (expr->member.index)
			visit(&expr->member.index, data);
		return;
	case EXPR_IFF:
		visit(&expr->iff.condition, data);
		visit(&expr->iff.then, data);
		visit(&expr->iff.otherwise, data);
		return;
	case EXPR_PARSE:
		visit(&expr->parse.operand, data);
		return;
	}
}

static void collect_depends(struct expr **child, void *data)
{
	*(unsigned *)data |= (*child)->depends;
}

/* ---- folding ---------------------------------------------------------------- */

/* Evaluates an expression that depends on nothing into a constant. */
static struct expr *fold(struct compiler *compiler, struct expr *expr)
{
	struct eval_context context = {NULL, NULL, &compiler->scratch, 0, 0};
	struct value value;

	kql_eval_expr(expr, &context, &value);
	if (context.error < 0) {
		kql_scratch_reset(&compiler->scratch);
		return out_of_memory(compiler, expr->offset);
	}
	struct expr *constant = kql_expr_new(compiler, EXPR_CONST, expr->type, expr->offset);

	if (!constant) {
		kql_scratch_reset(&compiler->scratch);
		return NULL;
	}
	if (value.type == VALUE_STRING) {
		value.str = arena_strndup(&compiler->query->arena, value.str, value.len);
		if (!value.str) {
			kql_scratch_reset(&compiler->scratch);
			return out_of_memory(compiler, expr->offset);
		}
	} else if (value.type == VALUE_DYNAMIC && !value.is_null) {
		json_incref(value.dyn);
		if (kql_query_own_json(compiler->query, value.dyn) < 0) {
			kql_scratch_reset(&compiler->scratch);
			return out_of_memory(compiler, expr->offset);
		}
	}
	value.type = expr->type;
	constant->constant = value;
	kql_scratch_reset(&compiler->scratch);
	return constant;
}

/* Sets depends from the children, folds when it depends on nothing. */
static struct expr *finish_node(struct compiler *compiler, struct expr *expr)
{
	if (!expr)
		return NULL;
	kql_expr_visit(expr, collect_depends, &expr->depends);
	if (expr->depends == 0 && expr->kind != EXPR_CONST)
		return fold(compiler, expr);
	return expr;
}

struct hoist {
	struct compiler *compiler;
	int status;
};

static void hoist_child(struct expr **child, void *data);

static struct expr *hoist(struct hoist *hoist, struct expr *expr)
{
	if (expr->kind == EXPR_CONST || expr->kind == EXPR_SLOT)
		return expr;
	if (!(expr->depends & DEPENDS_ROW)) {
		struct expr *slot = kql_expr_new(hoist->compiler, EXPR_SLOT, expr->type, expr->offset);
		long index = slot ? kql_query_add_slot(hoist->compiler->query,
						       (struct slot){expr, NULL, SET_IN, VALUE_BOOL,
								     false})
				  : -ENOMEM;

		if (index < 0) {
			hoist->status = -ENOMEM;
			return expr;
		}
		slot->slot = (size_t)index;
		slot->depends = expr->depends;
		return slot;
	}
	kql_expr_visit(expr, hoist_child, hoist);
	return expr;
}

static void hoist_child(struct expr **child, void *data)
{
	*child = hoist(data, *child);
}

struct expr *kql_compile_finish(struct compiler *compiler, struct expr *expr)
{
	struct hoist state = {compiler, 0};

	if (!expr)
		return NULL;
	expr = hoist(&state, expr);
	if (state.status < 0)
		return out_of_memory(compiler, expr->offset);
	return expr;
}

/* ---- conversions -------------------------------------------------------------- */

static const char *conversion_function(enum value_type type)
{
	switch (type) {
	case VALUE_STRING:
		return "tostring";
	case VALUE_LONG:
		return "tolong";
	case VALUE_REAL:
		return "toreal";
	case VALUE_BOOL:
		return "tobool";
	case VALUE_DATETIME:
		return "todatetime";
	case VALUE_TIMESPAN:
		return "totimespan";
	case VALUE_DYNAMIC:
		return "todynamic";
	}
	return "tostring";
}

static struct expr *call_new(struct compiler *compiler, const struct function *function,
			     struct expr **args, size_t count, size_t offset)
{
	struct expr *call = kql_expr_new(compiler, EXPR_CALL, VALUE_STRING, offset);

	if (!call)
		return NULL;
	call->call.function = function;
	call->call.args = arena_alloc(&compiler->query->arena, (count ? count : 1) * sizeof(*args));
	if (!call->call.args)
		return out_of_memory(compiler, offset);
	memcpy(call->call.args, args, count * sizeof(*args));
	call->call.count = count;
	return call;
}

static struct expr *check_call(struct compiler *compiler, struct expr *call)
{
	char message[200];
	int status = 0;

	if (!call->call.function->check)
		call->type = call->call.function->result;
	else
		status = call->call.function->check(call, message, sizeof(message));
	/* patterns prepared by the check belong to the query, even on failure */
	for (size_t i = 0; i < 2; i++) {
		if (call->call.regexes[i] && kql_query_own_regex(compiler->query, call->call.regexes[i]) < 0)
			return out_of_memory(compiler, call->offset);
	}
	if (status == -ENOMEM)
		return out_of_memory(compiler, call->offset);
	if (status < 0) {
		kql_compile_fail(compiler, KQL_ERROR_TYPE, call->offset, "%s", message);
		return NULL;
	}
	if (call->call.function->uses_now)
		call->depends |= DEPENDS_NOW;
	return finish_node(compiler, call);
}

struct expr *kql_expr_convert(struct compiler *compiler, struct expr *expr, enum value_type type)
{
	if (!expr || expr->type == type)
		return expr;
	bool allowed = expr->type == VALUE_DYNAMIC || type == VALUE_STRING ||
		       type == VALUE_DYNAMIC ||
		       (is_numeric(expr->type) && is_numeric(type));

	if (!allowed) {
		kql_compile_fail(compiler, KQL_ERROR_TYPE, expr->offset, "expected a %s, found a %s",
			     value_type_name(type), value_type_name(expr->type));
		return NULL;
	}
	struct expr *call = call_new(compiler, kql_function_find(conversion_function(type)), &expr, 1,
				     expr->offset);

	return call ? check_call(compiler, call) : NULL;
}

/* ---- names ------------------------------------------------------------------ */

const char *kql_relation_find_name(const struct relation *relation, const char *name, int *index)
{
	*index = -1;
	if (!relation)
		return NULL;
	for (size_t i = 0; i < relation->count; i++) {
		if (strcmp(relation->columns[i].name, name) == 0) {
			*index = (int)i;
			return relation->columns[i].name;
		}
	}
	return NULL;
}

static struct let_binding *find_let(struct compiler *compiler, const char *name)
{
	for (size_t i = compiler->let_count; i > 0; i--) {
		if (strcmp(compiler->lets[i - 1].name, name) == 0)
			return &compiler->lets[i - 1];
	}
	return NULL;
}

/* "did you mean" for a name that differs only in case. */
static const char *similar_name(const struct compiler *compiler, const struct relation *row,
				const char *name)
{
	if (row) {
		for (size_t i = 0; i < row->count; i++) {
			if (strcasecmp(row->columns[i].name, name) == 0)
				return row->columns[i].name;
		}
	}
	for (size_t i = 0; i < compiler->let_count; i++) {
		if (strcasecmp(compiler->lets[i].name, name) == 0)
			return compiler->lets[i].name;
	}
	return NULL;
}

/*
 * Sentinel's copy of the Defender tables adds TimeGenerated, the same
 * instant as Timestamp: the name reads the table's Timestamp wherever that
 * column passes through unchanged.
 */
static bool sentinel_alias(const struct relation *row, const char *name, int *index)
{
	if (!row || strcmp(name, "TimeGenerated") != 0)
		return false;
	return kql_relation_find_name(row, "Timestamp", index) &&
	       row->columns[*index].type == VALUE_DATETIME && row->columns[*index].source >= 0;
}

static struct expr *compile_name(struct compiler *compiler, const struct ast *ast,
				 const struct relation *row)
{
	int index;

	if (kql_relation_find_name(row, ast->name, &index) || sentinel_alias(row, ast->name, &index)) {
		struct expr *expr = kql_expr_new(compiler, EXPR_COLUMN, row->columns[index].type, ast->offset);

		if (expr) {
			expr->column = (size_t)index;
			expr->depends = DEPENDS_ROW;
		}
		return expr;
	}
	struct let_binding *let = find_let(compiler, ast->name);

	if (let && let->scalar) {
		struct expr *expr = kql_expr_new(compiler, let->scalar->kind, let->scalar->type, ast->offset);

		if (expr) {
			size_t offset = expr->offset;

			*expr = *let->scalar;
			expr->offset = offset;
		}
		return expr;
	}
	if (let) {
		kql_compile_fail(compiler, KQL_ERROR_TYPE, ast->offset,
			     "'%s' is a table, expected a scalar (use it with in (...) or as a "
			     "query source)",
			     ast->name);
		return NULL;
	}
	const char *similar = similar_name(compiler, row, ast->name);

	if (similar)
		kql_compile_fail(compiler, KQL_ERROR_NAME, ast->offset,
			     "unknown column or name '%s' (did you mean '%s'? names are "
			     "case-sensitive)",
			     ast->name, similar);
	else if (row)
		kql_compile_fail(compiler, KQL_ERROR_NAME, ast->offset, "unknown column or name '%s'",
			     ast->name);
	else
		kql_compile_fail(compiler, KQL_ERROR_NAME, ast->offset,
			     "unknown name '%s' (no columns are in scope here)", ast->name);
	return NULL;
}

/* ---- operators ------------------------------------------------------------------ */

static bool arith_type(enum op op, enum value_type left, enum value_type right,
		       enum value_type *type)
{
	if (is_numeric(left) && is_numeric(right)) {
		*type = left == VALUE_LONG && right == VALUE_LONG ? VALUE_LONG : VALUE_REAL;
		return true;
	}
	if (left == VALUE_DATETIME && right == VALUE_DATETIME && op == OP_SUB) {
		*type = VALUE_TIMESPAN;
		return true;
	}
	if (left == VALUE_DATETIME && right == VALUE_TIMESPAN && (op == OP_ADD || op == OP_SUB)) {
		*type = VALUE_DATETIME;
		return true;
	}
	if (left == VALUE_TIMESPAN && right == VALUE_DATETIME && op == OP_ADD) {
		*type = VALUE_DATETIME;
		return true;
	}
	if (left == VALUE_TIMESPAN && right == VALUE_TIMESPAN) {
		if (op == OP_MUL)
			return false;
		*type = op == OP_DIV ? VALUE_REAL : VALUE_TIMESPAN;
		return true;
	}
	if (left == VALUE_TIMESPAN && is_numeric(right) && (op == OP_MUL || op == OP_DIV)) {
		*type = VALUE_TIMESPAN;
		return true;
	}
	if (is_numeric(left) && right == VALUE_TIMESPAN && op == OP_MUL) {
		*type = VALUE_TIMESPAN;
		return true;
	}
	return false;
}

static const char *op_text(enum op op)
{
	static const char *const texts[] = {"or", "and", "==", "!=", "<", "<=", ">", ">=",
					    "+",  "-",	 "*",  "/",  "%"};

	return op <= OP_MOD ? texts[op] : "operator";
}

/* Makes two operands comparable: converts a dynamic side to the other's type. */
static int unify(struct compiler *compiler, struct expr **left, struct expr **right,
		 size_t offset, const char *what)
{
	enum value_type a = (*left)->type, b = (*right)->type;

	if (a == b || (is_numeric(a) && is_numeric(b)))
		return 0;
	if (a == VALUE_DYNAMIC && b != VALUE_DYNAMIC) {
		*left = kql_expr_convert(compiler, *left, b);
		return *left ? 0 : -EINVAL;
	}
	if (b == VALUE_DYNAMIC && a != VALUE_DYNAMIC) {
		*right = kql_expr_convert(compiler, *right, a);
		return *right ? 0 : -EINVAL;
	}
	return kql_compile_fail(compiler, KQL_ERROR_TYPE, offset, "cannot %s a %s with a %s", what,
			    value_type_name(a), value_type_name(b));
}

/* tolong(flag): true 1, false 0. */
static struct expr *bool_as_long(struct compiler *compiler, struct expr *flag)
{
	struct expr *call = call_new(compiler, kql_function_find("tolong"), &flag, 1, flag->offset);

	return call ? check_call(compiler, call) : NULL;
}

static struct expr *compile_binary(struct compiler *compiler, const struct ast *ast,
				   const struct relation *row)
{
	struct expr *left = kql_compile_expr(compiler, ast->binary.left, row);
	struct expr *right = left ? kql_compile_expr(compiler, ast->binary.right, row) : NULL;
	enum op op = ast->binary.op;
	struct expr *expr;

	if (!right)
		return NULL;
	switch (op) {
	case OP_OR:
	case OP_AND:
		left = kql_expr_convert(compiler, left, VALUE_BOOL);
		right = left ? kql_expr_convert(compiler, right, VALUE_BOOL) : NULL;
		if (!right)
			return NULL;
		expr = kql_expr_new(compiler, op == OP_OR ? EXPR_OR : EXPR_AND, VALUE_BOOL, ast->offset);
		break;
	case OP_EQ:
	case OP_NE:
	case OP_LT:
	case OP_LE:
	case OP_GT:
	case OP_GE:
		/* Kusto compares a bool with a number as 1 or 0 (flag == 0) */
		if (left->type == VALUE_BOOL && is_numeric(right->type))
			left = bool_as_long(compiler, left);
		if (left && right->type == VALUE_BOOL && is_numeric(left->type))
			right = bool_as_long(compiler, right);
		if (!left || !right || unify(compiler, &left, &right, ast->offset, "compare") < 0)
			return NULL;
		if (left->type == VALUE_DYNAMIC && op != OP_EQ && op != OP_NE) {
			kql_compile_fail(compiler, KQL_ERROR_TYPE, ast->offset,
				     "cannot order dynamic values with '%s' (convert them first)",
				     op_text(op));
			return NULL;
		}
		expr = kql_expr_new(compiler, EXPR_COMPARE, VALUE_BOOL, ast->offset);
		break;
	case OP_ADD:
	case OP_SUB:
	case OP_MUL:
	case OP_DIV:
	case OP_MOD: {
		enum value_type type;

		if (left->type == VALUE_DYNAMIC)
			left = kql_expr_convert(compiler, left, is_numeric(right->type) ? right->type
										    : VALUE_REAL);
		if (left && right->type == VALUE_DYNAMIC)
			right = kql_expr_convert(compiler, right,
					     is_numeric(left->type) ? left->type : VALUE_REAL);
		if (!left || !right)
			return NULL;
		if (!arith_type(op, left->type, right->type, &type)) {
			kql_compile_fail(compiler, KQL_ERROR_TYPE, ast->offset,
				     "operator '%s' does not apply to a %s and a %s", op_text(op),
				     value_type_name(left->type), value_type_name(right->type));
			return NULL;
		}
		expr = kql_expr_new(compiler, EXPR_ARITH, type, ast->offset);
		break;
	}
	case OP_STRING:
		left = kql_expr_convert(compiler, left, VALUE_STRING);
		right = left ? kql_expr_convert(compiler, right, VALUE_STRING) : NULL;
		if (!right)
			return NULL;
		expr = kql_expr_new(compiler, EXPR_STRING, VALUE_BOOL, ast->offset);
		if (!expr)
			return NULL;
		expr->string.match = ast->binary.match;
		expr->string.left = left;
		expr->string.right = right;
		if (right->kind == EXPR_CONST) {
			char *folded = arena_alloc(&compiler->query->arena,
						   KQL_NEEDLE_FOLDED_SIZE(right->constant.len));

			if (!folded)
				return out_of_memory(compiler, ast->offset);
			kql_needle_init(&expr->string.needle, ast->binary.match.kind,
					ast->binary.match.case_sensitive, right->constant.str,
					right->constant.len, folded);
			expr->string.constant = true;
		}
		return finish_node(compiler, expr);
	case OP_REGEX: {
		char message[200];

		left = kql_expr_convert(compiler, left, VALUE_STRING);
		if (!left)
			return NULL;
		if (right->kind != EXPR_CONST || right->type != VALUE_STRING) {
			kql_compile_fail(compiler, KQL_ERROR_TYPE, right->offset,
				     "expected a constant string as the regular expression");
			return NULL;
		}
		expr = kql_expr_new(compiler, EXPR_REGEX, VALUE_BOOL, ast->offset);
		if (!expr)
			return NULL;
		expr->regex.operand = left;
		int status = kql_regex_compile(&expr->regex.regex, right->constant.str,
					       right->constant.len, 0, message, sizeof(message));

		if (status == -ENOMEM)
			return out_of_memory(compiler, ast->offset);
		if (status < 0) {
			kql_compile_fail(compiler, KQL_ERROR_TYPE, right->offset, "%s", message);
			return NULL;
		}
		if (kql_query_own_regex(compiler->query, expr->regex.regex) < 0)
			return out_of_memory(compiler, ast->offset);
		return finish_node(compiler, expr);
	}
	default:
		kql_compile_fail(compiler, KQL_ERROR_SYNTAX, ast->offset, "unexpected operator");
		return NULL;
	}
	if (!expr)
		return NULL;
	expr->binary.op = op;
	expr->binary.left = left;
	expr->binary.right = right;
	return finish_node(compiler, expr);
}

static struct expr *compile_between(struct compiler *compiler, const struct ast *ast,
				    const struct relation *row)
{
	struct expr *value = kql_compile_expr(compiler, ast->binary.left, row);
	struct expr *low = value ? kql_compile_expr(compiler, ast->binary.items.items[0], row) : NULL;
	struct expr *high = low ? kql_compile_expr(compiler, ast->binary.items.items[1], row) : NULL;

	if (!high)
		return NULL;
	if (value->type == VALUE_DYNAMIC)
		value = kql_expr_convert(compiler, value, low->type == VALUE_DYNAMIC ? VALUE_REAL : low->type);
	if (!value)
		return NULL;
	if (value->type == VALUE_DATETIME && low->type == VALUE_DATETIME &&
	    high->type == VALUE_TIMESPAN) {
		/* datetime between (start .. length) */
		struct expr *sum = kql_expr_new(compiler, EXPR_ARITH, VALUE_DATETIME, high->offset);

		if (!sum)
			return NULL;
		sum->binary.op = OP_ADD;
		sum->binary.left = low;
		sum->binary.right = high;
		high = finish_node(compiler, sum);
		if (!high)
			return NULL;
	}
	if (value->type != VALUE_LONG && value->type != VALUE_REAL &&
	    value->type != VALUE_DATETIME && value->type != VALUE_TIMESPAN) {
		kql_compile_fail(compiler, KQL_ERROR_TYPE, ast->offset,
			     "between needs a number, datetime or timespan, found a %s",
			     value_type_name(value->type));
		return NULL;
	}
	if (unify(compiler, &value, &low, low->offset, "compare") < 0 ||
	    unify(compiler, &value, &high, high->offset, "compare") < 0)
		return NULL;
	struct expr *expr = kql_expr_new(compiler, EXPR_BETWEEN, VALUE_BOOL, ast->offset);

	if (!expr)
		return NULL;
	expr->between.value = value;
	expr->between.low = low;
	expr->between.high = high;
	expr->between.negate = ast->binary.op == OP_NOT_BETWEEN;
	return finish_node(compiler, expr);
}

/* ---- in, in~, has_any, has_all ------------------------------------------------------ */

static bool is_tabular_ast(struct compiler *compiler, const struct ast *ast,
			   const struct relation *row)
{
	int index;

	if (ast->kind == AST_PIPE || ast->kind == AST_DATATABLE || ast->kind == AST_UNION)
		return true;
	if (ast->kind != AST_NAME || kql_relation_find_name(row, ast->name, &index))
		return false;
	struct let_binding *let = find_let(compiler, ast->name);

	if (let)
		return let->pipeline != NULL;
	for (size_t i = 0; i < compiler->query->table_count; i++) {
		if (strcmp(compiler->query->tables[i]->name, ast->name) == 0)
			return true;
	}
	return kql_known_table(ast->name);
}

/* The element type a set holds for a left operand of type type. */
static enum value_type set_type(enum set_op op, enum value_type type)
{
	if (op == SET_HAS_ANY || op == SET_HAS_ALL)
		return VALUE_STRING;
	return type;
}

static bool set_item_fits(enum set_op op, enum value_type set, enum value_type item)
{
	if (op == SET_HAS_ANY || op == SET_HAS_ALL || item == VALUE_DYNAMIC || item == set)
		return true;
	return is_numeric(set) && is_numeric(item);
}

static struct match_set *new_set(struct compiler *compiler, enum set_op op, enum value_type type,
				 size_t offset)
{
	struct match_set *set = calloc(1, sizeof(*set));

	if (!set || kql_query_own_set(compiler->query, set) < 0) {
		free(set);
		return out_of_memory(compiler, offset);
	}
	set->op = op;
	set->type = type;
	return set;
}

/* A set read from a tabular expression: at compile time when constant. */
static int compile_set_subquery(struct compiler *compiler, struct expr *expr,
				const struct ast *item)
{
	struct pipeline *pipeline = kql_compile_tabular(compiler, item);

	if (!pipeline)
		return -EINVAL;
	const struct relation *output = pipeline->stage_count
						? &pipeline->stages[pipeline->stage_count - 1].output
						: &pipeline->source;

	if (output->count == 0)
		return kql_compile_fail(compiler, KQL_ERROR_TYPE, item->offset, "the table has no columns");
	enum value_type type = output->columns[0].type;

	if (!set_item_fits(expr->set.op, expr->set.left->type, type))
		return kql_compile_fail(compiler, KQL_ERROR_TYPE, item->offset,
				    "the table's first column is a %s, expected a %s",
				    value_type_name(type), value_type_name(expr->set.left->type));
	if (!(pipeline->depends & (DEPENDS_TABLE | DEPENDS_NOW))) {
		struct kql_table *table;
		int status = kql_compile_run_constant(compiler, pipeline, &table);

		if (status < 0)
			return status;
		expr->set.set = new_set(compiler, expr->set.op, set_type(expr->set.op, expr->set.left->type),
					item->offset);
		if (!expr->set.set)
			return -ENOMEM;
		for (size_t i = 0; i < table->row_count && status == 0; i++)
			status = kql_match_set_add_converted(expr->set.set,
							 &table->cells[i * table->column_count],
							 &compiler->scratch);
		kql_scratch_reset(&compiler->scratch);
		return status < 0 ? kql_compile_fail(compiler, KQL_ERROR_NOMEM, item->offset, "out of memory")
				  : 0;
	}
	expr->set.set_slot = kql_query_add_slot(compiler->query,
						(struct slot){NULL, pipeline, expr->set.op,
							      set_type(expr->set.op, expr->set.left->type),
							      false});
	if (expr->set.set_slot < 0)
		return kql_compile_fail(compiler, KQL_ERROR_NOMEM, item->offset, "out of memory");
	expr->depends |= pipeline->depends | DEPENDS_NOW;
	if (pipeline->depends & DEPENDS_TABLE)
		compiler->query->depends_on_tables = true;
	return 0;
}

static struct expr *compile_set(struct compiler *compiler, const struct ast *ast,
				const struct relation *row)
{
	struct expr *left = kql_compile_expr(compiler, ast->binary.left, row);
	const struct ast_list *items = &ast->binary.items;
	enum set_op op = ast->binary.set;

	if (!left)
		return NULL;
	struct expr *expr = kql_expr_new(compiler, EXPR_SET, VALUE_BOOL, ast->offset);

	if (!expr)
		return NULL;
	expr->set.op = op;
	if (op == SET_HAS_ANY || op == SET_HAS_ALL || op == SET_IN_CI || op == SET_NOT_IN_CI)
		left = kql_expr_convert(compiler, left, VALUE_STRING);
	if (!left)
		return NULL;
	expr->set.left = left;
	if (items->count == 1 && is_tabular_ast(compiler, items->items[0], row)) {
		if (left->type == VALUE_DYNAMIC)
			expr->set.left = left = kql_expr_convert(compiler, left, VALUE_STRING);
		if (!left || compile_set_subquery(compiler, expr, items->items[0]) < 0)
			return NULL;
		return finish_node(compiler, expr);
	}
	expr->set.items = arena_alloc(&compiler->query->arena, items->count * sizeof(struct expr *));
	if (!expr->set.items)
		return out_of_memory(compiler, ast->offset);
	bool constant = true;

	for (size_t i = 0; i < items->count; i++) {
		struct expr *item = kql_compile_expr(compiler, items->items[i], row);

		if (!item)
			return NULL;
		if (left->type == VALUE_DYNAMIC && item->type != VALUE_DYNAMIC) {
			expr->set.left = left = kql_expr_convert(compiler, left, item->type);
			if (!left)
				return NULL;
		}
		if (!set_item_fits(op, left->type, item->type)) {
			kql_compile_fail(compiler, KQL_ERROR_TYPE, item->offset,
				     "list element is a %s, expected a %s", value_type_name(item->type),
				     value_type_name(left->type));
			return NULL;
		}
		expr->set.items[i] = item;
		constant = constant && item->kind == EXPR_CONST;
	}
	expr->set.count = items->count;
	if (left->type == VALUE_DYNAMIC)
		expr->set.left = left = kql_expr_convert(compiler, left, VALUE_STRING);
	if (!left)
		return NULL;
	if (constant) {
		expr->set.set = new_set(compiler, op, set_type(op, left->type), ast->offset);
		if (!expr->set.set)
			return NULL;
		for (size_t i = 0; i < expr->set.count; i++) {
			if (kql_match_set_add_converted(expr->set.set, &expr->set.items[i]->constant,
						    &compiler->scratch) < 0)
				return out_of_memory(compiler, ast->offset);
		}
		kql_scratch_reset(&compiler->scratch);
		expr->set.count = 0;
	}
	return finish_node(compiler, expr);
}

/* ---- calls, members ------------------------------------------------------------------- */

/*
 * Kusto functions and aggregations rmmhunt does not implement: a query using
 * one is valid KQL, so the error is "unsupported", not "unknown name".
 */
bool kql_kusto_function(const char *name)
{
	static const char *const names[] = {
		"toscalar", "externaldata", "pack", "bag_pack", "pack_all",
		"make_bag", "make_bag_if", "make_set_if", "make_list_if", "dcountif", "sumif",
		"avgif", "minif", "maxif", "percentile", "percentiles", "stdev", "variance",
		"extract_all", "extractjson", "parse_url", "parse_path", "url_decode",
		"url_encode", "format_datetime", "format_timespan", "datetime_diff",
		"datetime_add", "dayofweek", "dayofmonth", "hourofday", "startofweek",
		"startofmonth", "endofday", "getmonth", "getyear", "hash", "hash_sha256",
		"hash_md5", "array_concat", "array_slice", "array_index_of", "bag_keys",
		"set_has_element", "set_difference", "set_union", "set_intersect",
		"strcat_array", "strcat_delim", "reverse", "typeof", "gettype",
		"round", "abs", "log", "log10", "sqrt", "pow", "exp", "max_of", "min_of",
		"ipv4_is_private", "ipv4_is_match", "ipv4_is_in_range", "parse_ipv4",
		"geo_info_from_ip_address", "unixtime_seconds_todatetime", "row_number",
		"prev", "next", "series_stats", "make_datetime", "make_timespan",
		"indexof_regex", "new_guid", "rand", "todecimal",
		"tohex", "zip", "treepath", "base64_encode_fromguid", "base64_decode_toguid",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(names[i], name) == 0)
			return true;
	}
	return false;
}

static bool is_aggregate_name(const char *name)
{
	static const char *const names[] = {
		"count",     "countif",	  "dcount",   "min",	   "max",     "sum",
		"avg",	     "make_set",  "makeset",  "make_list", "makelist", "arg_max",
		"arg_min",   "take_any",  "any",      "make_set_if", "make_list_if", "dcountif",
		"sumif",     "avgif",	  "percentile", "stdev",   "variance",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(names[i], name) == 0)
			return true;
	}
	return false;
}

/* condition ? then : otherwise, the two branches brought to one type. */
static struct expr *iff_node(struct compiler *compiler, struct expr *condition, struct expr *then,
			     struct expr *otherwise, size_t offset)
{
	condition = kql_expr_convert(compiler, condition, VALUE_BOOL);
	if (!condition)
		return NULL;
	if (then->type != otherwise->type) {
		if (is_numeric(then->type) && is_numeric(otherwise->type)) {
			then = kql_expr_convert(compiler, then, VALUE_REAL);
			otherwise = then ? kql_expr_convert(compiler, otherwise, VALUE_REAL) : NULL;
		} else if (unify(compiler, &then, &otherwise, offset, "mix") < 0) {
			return NULL;
		}
		if (!otherwise)
			return NULL;
	}
	struct expr *expr = kql_expr_new(compiler, EXPR_IFF, then->type, offset);

	if (!expr)
		return NULL;
	expr->iff.condition = condition;
	expr->iff.then = then;
	expr->iff.otherwise = otherwise;
	return finish_node(compiler, expr);
}

/*
 * iff(c, a, b) and case(c1, v1, c2, v2, ..., else): the first true
 * condition's value, else the last argument (a null condition is not true).
 */
static struct expr *compile_iff(struct compiler *compiler, const struct ast *ast,
				const struct relation *row)
{
	const struct ast_list *args = &ast->call.args;
	bool is_case = strcmp(ast->call.name, "case") == 0;

	if (is_case ? args->count < 3 || args->count % 2 == 0 : args->count != 3) {
		kql_compile_fail(compiler, KQL_ERROR_TYPE, ast->offset,
				 is_case ? "%s() takes condition, value pairs and an else value (an odd "
					   "number of arguments, 3 or more), found %zu"
					 : "%s() takes 3 arguments (condition, then, else), found %zu",
				 ast->call.name, args->count);
		return NULL;
	}
	struct expr *result = kql_compile_expr(compiler, args->items[args->count - 1], row);

	for (size_t i = args->count - 1; result && i >= 2; i -= 2) {
		struct expr *condition = kql_compile_expr(compiler, args->items[i - 2], row);
		struct expr *then = condition ? kql_compile_expr(compiler, args->items[i - 1], row)
					      : NULL;

		result = then ? iff_node(compiler, condition, then, result, ast->offset) : NULL;
	}
	return result;
}

/* column_ifexists('name', default): the column when the row has it, else default. */
static struct expr *compile_column_ifexists(struct compiler *compiler, const struct ast *ast,
					    const struct relation *row)
{
	const struct ast_list *args = &ast->call.args;
	int index;

	if (args->count != 2) {
		kql_compile_fail(compiler, KQL_ERROR_TYPE, ast->call.name_offset,
				 "column_ifexists() takes 2 arguments (a column name and a default), "
				 "found %zu", args->count);
		return NULL;
	}
	struct expr *name = kql_compile_expr(compiler, args->items[0], NULL);

	if (!name)
		return NULL;
	if (name->kind != EXPR_CONST || name->type != VALUE_STRING) {
		kql_compile_fail(compiler, KQL_ERROR_TYPE, args->items[0]->offset,
				 "column_ifexists(): the column name must be a constant string");
		return NULL;
	}
	if (kql_relation_find_name(row, name->constant.str, &index) ||
	    sentinel_alias(row, name->constant.str, &index)) {
		struct expr *expr = kql_expr_new(compiler, EXPR_COLUMN, row->columns[index].type,
						 ast->offset);

		if (expr) {
			expr->column = (size_t)index;
			expr->depends = DEPENDS_ROW;
		}
		return expr;
	}
	return kql_compile_expr(compiler, args->items[1], row);
}

static struct expr *compile_call(struct compiler *compiler, const struct ast *ast,
				 const struct relation *row)
{
	const char *name = ast->call.name;
	const struct ast_list *args = &ast->call.args;

	if (strcmp(name, "iff") == 0 || strcmp(name, "iif") == 0 || strcmp(name, "case") == 0)
		return compile_iff(compiler, ast, row);
	if (strcmp(name, "column_ifexists") == 0)
		return compile_column_ifexists(compiler, ast, row);
	for (size_t i = 0; i < compiler->substitution_count; i++) {
		if (compiler->substitutions[i].expr == ast) {
			size_t column = compiler->substitution_columns[i];
			struct expr *expr = kql_expr_new(compiler, EXPR_COLUMN,
							 row->columns[column].type, ast->offset);

			if (expr) {
				expr->column = column;
				expr->depends = DEPENDS_ROW;
			}
			return expr;
		}
	}
	if (is_aggregate_name(name)) {
		kql_compile_fail(compiler, KQL_ERROR_TYPE, ast->call.name_offset,
			     "aggregation function '%s' can only be used in summarize", name);
		return NULL;
	}
	const struct function *function = kql_function_find(name);

	if (!function) {
		if (kql_kusto_function(name))
			kql_compile_fail(compiler, KQL_ERROR_UNSUPPORTED, ast->call.name_offset,
					 "the Kusto function '%s' is not supported by rmmhunt", name);
		else
			kql_compile_fail(compiler, KQL_ERROR_NAME, ast->call.name_offset,
					 "unknown function '%s'", name);
		return NULL;
	}
	if (args->count < function->min_args || args->count > function->max_args) {
		if (function->min_args == function->max_args)
			kql_compile_fail(compiler, KQL_ERROR_TYPE, ast->call.name_offset,
				     "%s() takes %u argument%s, found %zu", name, function->min_args,
				     function->min_args == 1 ? "" : "s", args->count);
		else
			kql_compile_fail(compiler, KQL_ERROR_TYPE, ast->call.name_offset,
				     "%s() takes %u to %u arguments, found %zu", name,
				     function->min_args, function->max_args, args->count);
		return NULL;
	}
	struct expr **compiled = arena_alloc(&compiler->query->arena,
					     (args->count ? args->count : 1) * sizeof(*compiled));

	if (!compiled)
		return out_of_memory(compiler, ast->offset);
	for (size_t i = 0; i < args->count; i++) {
		compiled[i] = kql_compile_expr(compiler, args->items[i], row);
		if (!compiled[i])
			return NULL;
	}
	if (strcmp(name, "not") == 0) {
		struct expr *operand = kql_expr_convert(compiler, compiled[0], VALUE_BOOL);
		struct expr *expr = operand ? kql_expr_new(compiler, EXPR_NOT, VALUE_BOOL, ast->offset) : NULL;

		if (!expr)
			return NULL;
		expr->operand = operand;
		return finish_node(compiler, expr);
	}
	struct expr *call = call_new(compiler, function, compiled, args->count, ast->call.name_offset);

	return call ? check_call(compiler, call) : NULL;
}

static struct expr *compile_member(struct compiler *compiler, const struct ast *ast,
				   const struct relation *row)
{
	struct expr *base = kql_compile_expr(compiler, ast->member.base, row);
	struct expr *index = NULL;

	if (!base)
		return NULL;
	if (base->type == VALUE_STRING) {
		/* AdditionalFields.x: a string holding JSON reads as dynamic */
		struct expr *call = call_new(compiler, kql_function_find("parse_json"), &base, 1,
					     base->offset);

		base = call ? check_call(compiler, call) : NULL;
		if (!base)
			return NULL;
	}
	if (base->type != VALUE_DYNAMIC) {
		kql_compile_fail(compiler, KQL_ERROR_TYPE, ast->offset,
			     "'%s' applies to dynamic values, found a %s",
			     ast->kind == AST_MEMBER ? "." : "[]", value_type_name(base->type));
		return NULL;
	}
	if (ast->kind == AST_INDEX) {
		index = kql_compile_expr(compiler, ast->member.index, row);
		if (!index)
			return NULL;
		if (index->type != VALUE_LONG && index->type != VALUE_STRING)
			index = kql_expr_convert(compiler, index, VALUE_STRING);
		if (!index)
			return NULL;
	}
	struct expr *expr = kql_expr_new(compiler, ast->kind == AST_MEMBER ? EXPR_MEMBER : EXPR_INDEX,
				     VALUE_DYNAMIC, ast->offset);

	if (!expr)
		return NULL;
	expr->member.base = base;
	expr->member.name = ast->member.name;
	expr->member.index = index;
	return finish_node(compiler, expr);
}

static struct expr *compile_constant(struct compiler *compiler, const struct ast *ast)
{
	struct expr *expr = kql_expr_new(compiler, EXPR_CONST,
				     ast->kind == AST_DYNAMIC ? VALUE_DYNAMIC : ast->literal.type,
				     ast->offset);

	if (!expr)
		return NULL;
	if (ast->kind == AST_DYNAMIC) {
		expr->constant = kql_value_null(VALUE_DYNAMIC);
		expr->constant.is_null = false;
		expr->constant.dyn = ast->dynamic; /* the script's reference moves to the query */
	} else {
		expr->constant = ast->literal;
	}
	return expr;
}

static struct expr *compile_negate(struct compiler *compiler, const struct ast *ast,
				   const struct relation *row)
{
	struct expr *operand = kql_compile_expr(compiler, ast->operand, row);

	if (!operand)
		return NULL;
	if (operand->type == VALUE_DYNAMIC)
		operand = kql_expr_convert(compiler, operand, VALUE_REAL);
	if (!operand)
		return NULL;
	if (!is_numeric(operand->type) && operand->type != VALUE_TIMESPAN) {
		kql_compile_fail(compiler, KQL_ERROR_TYPE, ast->offset, "cannot negate a %s",
			     value_type_name(operand->type));
		return NULL;
	}
	struct expr *expr = kql_expr_new(compiler, EXPR_NEGATE, operand->type, ast->offset);

	if (!expr)
		return NULL;
	expr->operand = operand;
	return finish_node(compiler, expr);
}

struct expr *kql_compile_expr(struct compiler *compiler, const struct ast *ast,
			  const struct relation *row)
{
	switch (ast->kind) {
	case AST_LITERAL:
	case AST_DYNAMIC:
		return compile_constant(compiler, ast);
	case AST_NAME:
		if (is_tabular_ast(compiler, ast, row)) {
			struct let_binding *let = find_let(compiler, ast->name);

			if (!let) {
				/* compiling it reports an unsupported table first */
				if (!kql_compile_tabular(compiler, ast))
					return NULL;
			}
			kql_compile_fail(compiler, KQL_ERROR_TYPE, ast->offset,
				     "'%s' is a table, expected a scalar", ast->name);
			return NULL;
		}
		return compile_name(compiler, ast, row);
	case AST_CALL:
		return compile_call(compiler, ast, row);
	case AST_NEGATE:
		return compile_negate(compiler, ast, row);
	case AST_BINARY:
		return compile_binary(compiler, ast, row);
	case AST_LIST_OP:
		if (ast->binary.op == OP_SET)
			return compile_set(compiler, ast, row);
		return compile_between(compiler, ast, row);
	case AST_MEMBER:
	case AST_INDEX:
		return compile_member(compiler, ast, row);
	case AST_STAR:
		kql_compile_fail(compiler, KQL_ERROR_SYNTAX, ast->offset,
			     "'*' is only allowed as an argument of arg_max, arg_min or take_any");
		return NULL;
	case AST_PIPE:
	case AST_DATATABLE:
	case AST_UNION:
		kql_compile_fail(compiler, KQL_ERROR_TYPE, ast->offset,
			     "expected a scalar expression, found a tabular expression");
		return NULL;
	}
	return NULL;
}
