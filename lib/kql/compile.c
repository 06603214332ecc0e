/*
 * compile.c - statements and tabular expressions: lets, table references,
 * and each tabular operator turned into a pipeline stage.
 *
 * Order of checks (docs/rules.md): the whole text is parsed first, so any
 * syntax error wins; then statements are compiled in source order, and the
 * first name, type or table error stops compilation.  A reference to a
 * Microsoft table that the caller does not fill is KQL_ERROR_UNSUPPORTED_TABLE
 * at the table's name.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kql/internal.h"

/* Microsoft Defender XDR and Sentinel tables rules are written against. */
static const char *const known_tables[] = {
	"DeviceProcessEvents",
	"DeviceNetworkEvents",
	"DeviceFileCertificateInfo",
	"DeviceFileEvents",
	"DeviceRegistryEvents",
	"DeviceLogonEvents",
	"DeviceImageLoadEvents",
	"DeviceEvents",
	"DeviceInfo",
	"DeviceNetworkInfo",
	"DeviceTvmSoftwareInventory",
	"DeviceTvmSoftwareVulnerabilities",
	"AlertInfo",
	"AlertEvidence",
	"EmailEvents",
	"EmailAttachmentInfo",
	"EmailUrlInfo",
	"IdentityLogonEvents",
	"IdentityQueryEvents",
	"IdentityDirectoryEvents",
	"IdentityInfo",
	"CloudAppEvents",
	"UrlClickEvents",
	"BehaviorInfo",
	"BehaviorEntities",
	"SecurityEvent",
	"Syslog",
	"CommonSecurityLog",
	"SigninLogs",
	"AuditLogs",
	"OfficeActivity",
};

bool kql_known_table(const char *name)
{
	for (size_t i = 0; i < sizeof(known_tables) / sizeof(known_tables[0]); i++) {
		if (strcmp(known_tables[i], name) == 0)
			return true;
	}
	return false;
}

static void *out_of_memory(struct compiler *compiler, size_t offset)
{
	kql_compile_fail(compiler, KQL_ERROR_NOMEM, offset, "out of memory");
	return NULL;
}

void *kql_compile_alloc(struct compiler *compiler, size_t size, size_t offset)
{
	void *memory = arena_alloc(&compiler->query->arena, size ? size : 1);

	return memory ? memory : out_of_memory(compiler, offset);
}

/* ---- relations ---------------------------------------------------------------- */

const struct relation *kql_pipeline_output(const struct pipeline *pipeline)
{
	return pipeline->stage_count ? &pipeline->stages[pipeline->stage_count - 1].output
				     : &pipeline->source;
}

int kql_relation_alloc(struct compiler *compiler, struct relation *relation, size_t count,
			  size_t offset)
{
	relation->columns = kql_compile_alloc(compiler, count * sizeof(*relation->columns), offset);
	relation->count = 0;
	return relation->columns ? 0 : -ENOMEM;
}

bool kql_relation_has(const struct relation *relation, const char *name)
{
	int index;

	return kql_relation_find_name(relation, name, &index) != NULL;
}

/* A fresh ColumnN name not in relation. */
const char *kql_default_name(struct compiler *compiler, const struct relation *relation,
				const char *base, size_t offset)
{
	char name[96];

	for (unsigned n = 1;; n++) {
		if (base && n == 1)
			snprintf(name, sizeof(name), "%s", base);
		else if (base)
			snprintf(name, sizeof(name), "%s%u", base, n - 1);
		else
			snprintf(name, sizeof(name), "Column%u", n);
		if (!kql_relation_has(relation, name))
			break;
	}
	char *copy = arena_strndup(&compiler->query->arena, name, strlen(name));

	return copy ? copy : out_of_memory(compiler, offset);
}

/* ---- pipelines ------------------------------------------------------------------ */

static struct pipeline *pipeline_copy(struct compiler *compiler, const struct pipeline *from,
				      size_t extra, size_t offset)
{
	struct pipeline *pipeline = kql_compile_alloc(compiler, sizeof(*pipeline), offset);

	if (!pipeline)
		return NULL;
	*pipeline = *from;
	pipeline->stages = kql_compile_alloc(compiler, (from->stage_count + extra) * sizeof(struct stage),
				       offset);
	if (!pipeline->stages)
		return NULL;
	if (from->stage_count)
		memcpy(pipeline->stages, from->stages, from->stage_count * sizeof(struct stage));
	return pipeline;
}

struct stage *kql_stage_add(struct pipeline *pipeline, enum stage_kind kind, size_t offset)
{
	struct stage *stage = &pipeline->stages[pipeline->stage_count++];

	memset(stage, 0, sizeof(*stage));
	stage->kind = kind;
	stage->offset = offset;
	if (pipeline->prefix_count == pipeline->stage_count - 1 &&
	    (kind == STAGE_WHERE || kind == STAGE_MAP))
		pipeline->prefix_count++;
	return stage;
}

struct expr *kql_stage_expr(struct compiler *compiler, struct pipeline *pipeline,
			       const struct ast *ast, const struct relation *row)
{
	struct expr *expr = kql_compile_finish(compiler, kql_compile_expr(compiler, ast, row));

	if (expr)
		pipeline->depends |= expr->depends;
	return expr;
}

struct expr *kql_column_ref(struct compiler *compiler, const struct relation *row, size_t index,
			       size_t offset)
{
	struct expr *expr = kql_expr_new(compiler, EXPR_COLUMN, row->columns[index].type, offset);

	if (expr) {
		expr->column = index;
		expr->depends = DEPENDS_ROW;
	}
	return expr;
}

/* An empty map stage with room for capacity output columns. */
static struct stage *map_stage(struct compiler *compiler, struct pipeline *pipeline,
			       size_t capacity, size_t offset)
{
	struct stage *stage = kql_stage_add(pipeline, STAGE_MAP, offset);

	if (kql_relation_alloc(compiler, &stage->output, capacity, offset) < 0)
		return NULL;
	stage->map.exprs = kql_compile_alloc(compiler, (capacity ? capacity : 1) * sizeof(struct expr *),
					     offset);
	return stage->map.exprs ? stage : NULL;
}

/* A map stage that starts as the identity over input. */
struct stage *kql_map_identity(struct compiler *compiler, struct pipeline *pipeline,
				  size_t extra, size_t offset)
{
	struct relation input = *kql_pipeline_output(pipeline);
	struct stage *stage = map_stage(compiler, pipeline, input.count + extra, offset);

	if (!stage)
		return NULL;
	for (size_t i = 0; i < input.count; i++) {
		stage->output.columns[i] = input.columns[i];
		stage->map.exprs[i] = kql_column_ref(compiler, &input, i, offset);
		if (!stage->map.exprs[i])
			return NULL;
	}
	stage->output.count = input.count;
	return stage;
}

/* The name of a plain column reference, else NULL. */
static const char *column_name(const struct ast *ast)
{
	return ast->kind == AST_NAME ? ast->name : NULL;
}

/* The column a summarize default name comes from: X, bin(X, ...), floor(X, ...). */
static const char *source_name(const struct ast *ast)
{
	if (ast->kind == AST_NAME)
		return ast->name;
	if (ast->kind == AST_CALL && ast->call.args.count >= 1 &&
	    (strcmp(ast->call.name, "bin") == 0 || strcmp(ast->call.name, "floor") == 0) &&
	    ast->call.args.items[0]->kind == AST_NAME)
		return ast->call.args.items[0]->name;
	return NULL;
}

static int apply_extend(struct compiler *compiler, struct pipeline *pipeline,
			const struct ast_tabop *op)
{
	for (size_t i = 0; i < op->item_count; i++) {
		const struct ast_assign *item = &op->items[i];
		const struct relation *input = kql_pipeline_output(pipeline);
		struct expr *expr = kql_stage_expr(compiler, pipeline, item->expr, input);

		if (!expr)
			return -EINVAL;
		struct stage *stage = kql_map_identity(compiler, pipeline, 1, op->offset);

		if (!stage)
			return -ENOMEM;
		const char *name = item->name ? item->name : column_name(item->expr);
		int index = -1;

		if (!name) {
			name = kql_default_name(compiler, &stage->output, NULL, item->expr->offset);
			if (!name)
				return -ENOMEM;
		}
		kql_relation_find_name(&stage->output, name, &index);
		if (index < 0)
			index = (int)stage->output.count++;
		stage->output.columns[index] = (struct column){name, expr->type, -1};
		if (expr->kind == EXPR_COLUMN)
			stage->output.columns[index].source = input->columns[expr->column].source;
		stage->map.exprs[index] = expr;
	}
	return 0;
}

static int apply_project(struct compiler *compiler, struct pipeline *pipeline,
			 const struct ast_tabop *op)
{
	struct relation input = *kql_pipeline_output(pipeline);
	struct stage *stage = map_stage(compiler, pipeline, op->item_count, op->offset);

	if (!stage)
		return -ENOMEM;
	for (size_t i = 0; i < op->item_count; i++) {
		const struct ast_assign *item = &op->items[i];
		struct expr *expr = kql_stage_expr(compiler, pipeline, item->expr, &input);
		const char *name = item->name ? item->name : column_name(item->expr);

		if (!expr)
			return -EINVAL;
		if (!name)
			name = kql_default_name(compiler, &stage->output, NULL, item->expr->offset);
		if (!name)
			return -ENOMEM;
		if (kql_relation_has(&stage->output, name))
			return kql_compile_fail(compiler, KQL_ERROR_NAME,
					    item->name ? item->name_offset : item->expr->offset,
					    "column '%s' is projected twice", name);
		stage->output.columns[i] = (struct column){name, expr->type, -1};
		if (expr->kind == EXPR_COLUMN)
			stage->output.columns[i].source = input.columns[expr->column].source;
		stage->map.exprs[i] = expr;
		stage->output.count++;
	}
	return 0;
}

/* Glob with '*' wildcards. */
static bool name_matches(const char *pattern, const char *name)
{
	if (*pattern == '\0')
		return *name == '\0';
	if (*pattern == '*')
		return name_matches(pattern + 1, name) || (*name && name_matches(pattern, name + 1));
	return *pattern == *name && name_matches(pattern + 1, name + 1);
}

/* Which input columns the patterns of op pick; order[] in pick order. */
static int pick_columns(struct compiler *compiler, const struct relation *input,
			const struct ast_tabop *op, bool *picked, size_t *order, size_t *count)
{
	*count = 0;
	for (size_t p = 0; p < op->item_count; p++) {
		bool any = false;

		for (size_t i = 0; i < input->count; i++) {
			if (!name_matches(op->items[p].name, input->columns[i].name))
				continue;
			any = true;
			if (!picked[i]) {
				picked[i] = true;
				order[(*count)++] = i;
			}
		}
		/* TimeGenerated: Sentinel's alias of Timestamp, never a column of its own */
		if (!any && !strchr(op->items[p].name, '*') &&
		    strcmp(op->items[p].name, "TimeGenerated") != 0)
			return kql_compile_fail(compiler, KQL_ERROR_NAME, op->items[p].name_offset,
					    "unknown column '%s'", op->items[p].name);
	}
	return 0;
}

static int apply_reshape(struct compiler *compiler, struct pipeline *pipeline,
			 const struct ast_tabop *op)
{
	struct relation input = *kql_pipeline_output(pipeline);
	bool *picked = kql_compile_alloc(compiler, input.count * sizeof(bool), op->offset);
	size_t *order = kql_compile_alloc(compiler, input.count * sizeof(size_t), op->offset);
	size_t count;

	if (!picked || !order)
		return -ENOMEM;
	if (pick_columns(compiler, &input, op, picked, order, &count) < 0)
		return -EINVAL;
	struct stage *stage = map_stage(compiler, pipeline, input.count, op->offset);

	if (!stage)
		return -ENOMEM;
	size_t used = 0;

	for (size_t i = 0; op->kind == TABOP_PROJECT_REORDER && i < count; i++) {
		stage->output.columns[used] = input.columns[order[i]];
		stage->map.exprs[used++] = kql_column_ref(compiler, &input, order[i], op->offset);
	}
	for (size_t i = 0; i < input.count; i++) {
		bool keep = op->kind == TABOP_PROJECT_AWAY	 ? !picked[i]
			    : op->kind == TABOP_PROJECT_KEEP ? picked[i]
							     : !picked[i];

		if (!keep)
			continue;
		stage->output.columns[used] = input.columns[i];
		stage->map.exprs[used++] = kql_column_ref(compiler, &input, i, op->offset);
	}
	stage->output.count = used;
	for (size_t i = 0; i < used; i++) {
		if (!stage->map.exprs[i])
			return -ENOMEM;
	}
	return 0;
}

static int apply_rename(struct compiler *compiler, struct pipeline *pipeline,
			const struct ast_tabop *op)
{
	struct stage *stage = kql_map_identity(compiler, pipeline, 0, op->offset);

	if (!stage)
		return -ENOMEM;
	for (size_t i = 0; i < op->item_count; i++) {
		const struct ast_assign *item = &op->items[i];
		int index;

		if (!item->name || item->expr->kind != AST_NAME)
			return kql_compile_fail(compiler, KQL_ERROR_SYNTAX, item->expr->offset,
					    "expected new_name = old_name in project-rename");
		if (!kql_relation_find_name(&stage->output, item->expr->name, &index))
			return kql_compile_fail(compiler, KQL_ERROR_NAME, item->expr->offset,
					    "unknown column '%s'", item->expr->name);
		if (kql_relation_has(&stage->output, item->name))
			return kql_compile_fail(compiler, KQL_ERROR_NAME, item->name_offset,
					    "column '%s' already exists", item->name);
		stage->output.columns[index].name = item->name;
	}
	return 0;
}

/* ---- summarize -------------------------------------------------------------------- */

struct aggregate_name {
	const char *name;
	enum aggregate_kind kind;
	const char *prefix; /* default column name prefix */
	unsigned min_args;
	unsigned max_args;
};

static const struct aggregate_name aggregate_names[] = {
	{"count", AGG_COUNT, "count_", 0, 0},
	{"countif", AGG_COUNTIF, "countif_", 1, 1},
	{"dcount", AGG_DCOUNT, "dcount_", 1, 2},
	{"min", AGG_MIN, "min_", 1, 1},
	{"max", AGG_MAX, "max_", 1, 1},
	{"sum", AGG_SUM, "sum_", 1, 1},
	{"avg", AGG_AVG, "avg_", 1, 1},
	{"make_set", AGG_MAKE_SET, "set_", 1, 2},
	{"makeset", AGG_MAKE_SET, "set_", 1, 2},
	{"make_list", AGG_MAKE_LIST, "list_", 1, 2},
	{"makelist", AGG_MAKE_LIST, "list_", 1, 2},
	{"arg_max", AGG_ARG_MAX, "max_", 2, 64},
	{"arg_min", AGG_ARG_MIN, "min_", 2, 64},
	{"take_any", AGG_TAKE_ANY, "", 1, 64},
	{"any", AGG_TAKE_ANY, "any_", 1, 64},
};

#define MAKE_SET_DEFAULT_CAP 1048576

static const struct aggregate_name *find_aggregate(const char *name)
{
	for (size_t i = 0; i < sizeof(aggregate_names) / sizeof(aggregate_names[0]); i++) {
		if (strcmp(aggregate_names[i].name, name) == 0)
			return &aggregate_names[i];
	}
	return NULL;
}

/* Adds an output column, making default names unique and explicit ones checked. */
int kql_output_add(struct compiler *compiler, struct relation *output, const char *name,
		      bool explicit_name, enum value_type type, int source, size_t offset)
{
	if (kql_relation_has(output, name)) {
		if (explicit_name)
			return kql_compile_fail(compiler, KQL_ERROR_NAME, offset,
					    "duplicate column name '%s'", name);
		name = kql_default_name(compiler, output, name, offset);
		if (!name)
			return -ENOMEM;
	}
	output->columns[output->count++] = (struct column){name, type, source};
	return 0;
}

static int check_aggregate_arg(struct compiler *compiler, enum aggregate_kind kind,
			       struct expr **arg, size_t offset)
{
	enum value_type type = (*arg)->type;

	switch (kind) {
	case AGG_COUNTIF:
		*arg = kql_expr_convert(compiler, *arg, VALUE_BOOL);
		return *arg ? 0 : -EINVAL;
	case AGG_MIN:
	case AGG_MAX:
	case AGG_ARG_MAX:
	case AGG_ARG_MIN:
		if (type == VALUE_DYNAMIC)
			return kql_compile_fail(compiler, KQL_ERROR_TYPE, offset,
					    "cannot order dynamic values (convert them first)");
		return 0;
	case AGG_SUM:
		if (type != VALUE_LONG && type != VALUE_REAL && type != VALUE_TIMESPAN)
			return kql_compile_fail(compiler, KQL_ERROR_TYPE, offset,
					    "sum() needs a number or timespan, found a %s",
					    value_type_name(type));
		return 0;
	case AGG_AVG:
		if (type != VALUE_LONG && type != VALUE_REAL)
			return kql_compile_fail(compiler, KQL_ERROR_TYPE, offset,
					    "avg() needs a number, found a %s", value_type_name(type));
		return 0;
	default:
		return 0;
	}
}

static enum value_type aggregate_type(enum aggregate_kind kind, enum value_type arg)
{
	switch (kind) {
	case AGG_COUNT:
	case AGG_COUNTIF:
	case AGG_DCOUNT:
		return VALUE_LONG;
	case AGG_AVG:
		return VALUE_REAL;
	case AGG_MAKE_SET:
	case AGG_MAKE_LIST:
		return VALUE_DYNAMIC;
	default:
		return arg;
	}
}

/* arg_max(e, a, b) / take_any(a, b) / (*): the extra output expressions. */
static int compile_extras(struct compiler *compiler, struct pipeline *pipeline,
			  const struct ast *call, size_t first, struct aggregate_def *def,
			  const struct relation *input, const struct summarize_plan *plan,
			  struct relation *output, const char *prefix)
{
	const struct ast_list *args = &call->call.args;
	size_t capacity = 0;

	for (size_t i = first; i < args->count; i++)
		capacity += args->items[i]->kind == AST_STAR ? input->count : 1;
	def->extra = kql_compile_alloc(compiler, capacity * sizeof(struct expr *), call->offset);
	if (!def->extra)
		return -ENOMEM;
	for (size_t i = first; i < args->count; i++) {
		const struct ast *arg = args->items[i];

		if (arg->kind == AST_STAR) {
			for (size_t c = 0; c < input->count; c++) {
				bool is_key = false;

				for (size_t k = 0; k < plan->key_count; k++)
					is_key = is_key || (plan->keys[k]->kind == EXPR_COLUMN &&
							    plan->keys[k]->column == c);
				if (is_key || (def->arg && def->arg->kind == EXPR_COLUMN &&
					       def->arg->column == c && first == 1))
					continue;
				def->extra[def->extra_count] = kql_column_ref(compiler, input, c, arg->offset);
				if (!def->extra[def->extra_count] ||
				    kql_output_add(compiler, output, input->columns[c].name, false,
					       input->columns[c].type, input->columns[c].source,
					       arg->offset) < 0)
					return -EINVAL;
				def->extra_count++;
			}
			continue;
		}
		struct expr *expr = kql_stage_expr(compiler, pipeline, arg, input);

		if (!expr)
			return -EINVAL;
		char name[96];
		const char *base = source_name(arg);

		snprintf(name, sizeof(name), "%s%s", prefix, base ? base : "");
		const char *copy = base ? arena_strndup(&compiler->query->arena, name, strlen(name))
					: kql_default_name(compiler, output, NULL, arg->offset);

		if (!copy || kql_output_add(compiler, output, copy, false, expr->type,
					expr->kind == EXPR_COLUMN ? input->columns[expr->column].source : -1,
					arg->offset) < 0)
			return -EINVAL;
		def->extra[def->extra_count++] = expr;
	}
	return 0;
}

static int compile_aggregate(struct compiler *compiler, struct pipeline *pipeline,
			     const struct ast_assign *item, const struct relation *input,
			     struct summarize_plan *plan, struct relation *output)
{
	const struct ast *call = item->expr;
	const struct aggregate_name *name =
		call->kind == AST_CALL ? find_aggregate(call->call.name) : NULL;
	struct aggregate_def *def = &plan->aggregates[plan->aggregate_count];

	if (!name) {
		if (call->kind == AST_CALL && kql_function_find(call->call.name))
			return kql_compile_fail(compiler, KQL_ERROR_TYPE, call->offset,
					    "expected an aggregation function (count, countif, dcount, "
					    "min, max, sum, avg, make_set, make_list, arg_max, arg_min, "
					    "take_any), found '%s'",
					    call->call.name);
		if (call->kind == AST_CALL && kql_kusto_function(call->call.name))
			return kql_compile_fail(compiler, KQL_ERROR_UNSUPPORTED, call->offset,
						"the Kusto aggregation '%s' is not supported by rmmhunt",
						call->call.name);
		if (call->kind == AST_CALL)
			return kql_compile_fail(compiler, KQL_ERROR_NAME, call->offset,
					    "unknown aggregation function '%s'", call->call.name);
		return kql_compile_fail(compiler, KQL_ERROR_UNSUPPORTED, call->offset,
				    "expected an aggregation function call such as count(); "
				    "expressions around aggregations are not supported");
	}
	const struct ast_list *args = &call->call.args;

	if (args->count < name->min_args || args->count > name->max_args)
		return kql_compile_fail(compiler, KQL_ERROR_TYPE, call->offset,
				    "%s() takes %u to %u arguments, found %zu", name->name,
				    name->min_args, name->max_args, args->count);
	memset(def, 0, sizeof(*def));
	def->kind = name->kind;
	def->cap = MAKE_SET_DEFAULT_CAP;
	size_t first_output = output->count;
	bool star_first = args->count > 0 && args->items[0]->kind == AST_STAR;

	if (args->count > 0 && !star_first && name->kind != AGG_TAKE_ANY) {
		def->arg = kql_stage_expr(compiler, pipeline, args->items[0], input);
		if (!def->arg || check_aggregate_arg(compiler, def->kind, &def->arg, call->offset) < 0)
			return -EINVAL;
	} else if (star_first && name->kind != AGG_TAKE_ANY) {
		return kql_compile_fail(compiler, KQL_ERROR_SYNTAX, args->items[0]->offset,
				    "'*' is only allowed after the first argument of %s()", name->name);
	}
	if ((def->kind == AGG_MAKE_SET || def->kind == AGG_MAKE_LIST) && args->count == 2) {
		struct expr *cap = kql_compile_expr(compiler, args->items[1], input);

		if (!cap)
			return -EINVAL;
		if (cap->kind != EXPR_CONST || cap->type != VALUE_LONG || cap->constant.is_null ||
		    cap->constant.l < 1)
			return kql_compile_fail(compiler, KQL_ERROR_TYPE, args->items[1]->offset,
					    "%s(): the maximum must be a constant long >= 1", name->name);
		def->cap = cap->constant.l < MAKE_SET_DEFAULT_CAP ? cap->constant.l : MAKE_SET_DEFAULT_CAP;
	}
	if (def->kind == AGG_ARG_MAX || def->kind == AGG_ARG_MIN || def->kind == AGG_TAKE_ANY) {
		size_t first = def->kind == AGG_TAKE_ANY ? 0 : 1;

		if (first == 1) {
			const char *base = source_name(args->items[0]);
			char column[96];

			snprintf(column, sizeof(column), "%s%s", base ? "" : name->prefix,
				 base ? base : "");
			const char *copy = arena_strndup(&compiler->query->arena, column, strlen(column));

			if (!copy ||
			    kql_output_add(compiler, output, copy, item->name != NULL, def->arg->type,
				       def->arg->kind == EXPR_COLUMN ? input->columns[def->arg->column].source : -1,
				       call->offset) < 0)
				return -EINVAL;
			if (item->name)
				output->columns[first_output].name = item->name;
		}
		if (compile_extras(compiler, pipeline, call, first, def, input, plan, output,
				   def->kind == AGG_TAKE_ANY ? name->prefix : "") < 0)
			return -EINVAL;
		if (def->kind == AGG_TAKE_ANY && item->name && def->extra_count == 1)
			output->columns[first_output].name = item->name;
	} else {
		char column[96];
		const char *base = args->count ? source_name(args->items[0]) : NULL;

		snprintf(column, sizeof(column), "%s%s", name->prefix, base ? base : "");
		const char *text = item->name ? item->name
					      : arena_strndup(&compiler->query->arena, column,
							      strlen(column));

		if (!text || kql_output_add(compiler, output, text, item->name != NULL,
					aggregate_type(def->kind, def->arg ? def->arg->type : VALUE_LONG),
					-1, item->name ? item->name_offset : call->offset) < 0)
			return -EINVAL;
	}
	def->output_count = output->count - first_output;
	plan->aggregate_count++;
	return 0;
}

/* The name an aggregation call gets when nothing names it: count_, set_X, dcount_X... */
static const char *aggregate_default_name(struct compiler *compiler, const struct ast *call)
{
	const struct aggregate_name *aggregate = find_aggregate(call->call.name);
	const char *base = call->call.args.count ? source_name(call->call.args.items[0]) : NULL;
	char name[96];

	if (!aggregate || (call->call.args.count && !base))
		return NULL;
	snprintf(name, sizeof(name), "%s%s", aggregate->prefix, base ? base : "");
	return arena_strndup(&compiler->query->arena, name, strlen(name));
}

/*
 * The map stage after a summarize whose items hold expressions: keys and
 * plain aggregations pass through, each expression item is compiled over
 * the summarize's output with its aggregation calls read from the hidden
 * columns, which are dropped.
 */
static int summarize_expressions(struct compiler *compiler, struct pipeline *pipeline,
				 const struct ast_tabop *op, const struct ast_assign *items,
				 const size_t *owner, const size_t *first_outputs, size_t count)
{
	struct relation input = *kql_pipeline_output(pipeline);
	struct stage *stage = map_stage(compiler, pipeline, input.count, op->offset);

	if (!stage)
		return -ENOMEM;
	for (size_t k = 0; k < op->by_count; k++) {
		stage->output.columns[stage->output.count] = input.columns[k];
		stage->map.exprs[stage->output.count++] = kql_column_ref(compiler, &input, k, op->offset);
	}
	/* the hidden columns stand for their calls while the expressions compile */
	compiler->substitutions = items;
	compiler->substitution_columns = first_outputs;
	compiler->substitution_count = count;
	for (size_t j = 0; j < count;) {
		size_t item = owner[j];
		const struct ast_assign *assign = &op->items[item];
		size_t next = j;

		while (next < count && owner[next] == item)
			next++;
		if (items[j].expr == assign->expr) {
			/* a plain aggregation: its columns as they are */
			size_t end = next < count ? first_outputs[next] : input.count;

			for (size_t c = first_outputs[j]; c < end; c++) {
				stage->output.columns[stage->output.count] = input.columns[c];
				stage->map.exprs[stage->output.count++] =
					kql_column_ref(compiler, &input, c, op->offset);
			}
			j = next;
			continue;
		}
		struct expr *expr = kql_stage_expr(compiler, pipeline, assign->expr, &input);
		const char *name = assign->name;

		if (!expr)
			break;
		/* tostring(make_set(X)) is named as make_set(X) alone would be: set_X */
		if (!name && next == j + 1)
			name = aggregate_default_name(compiler, items[j].expr);
		if (!name)
			name = kql_default_name(compiler, &stage->output, NULL, assign->expr->offset);
		if (!name || kql_output_add(compiler, &stage->output, name, assign->name != NULL,
					expr->type, -1,
					assign->name ? assign->name_offset : assign->expr->offset) < 0)
			break;
		stage->map.exprs[stage->output.count - 1] = expr;
		j = next;
	}
	compiler->substitutions = NULL;
	compiler->substitution_count = 0;
	for (size_t i = 0; i < stage->output.count; i++) {
		if (!stage->map.exprs[i])
			return -EINVAL;
	}
	return compiler->error->kind == KQL_ERROR_NONE ? 0 : -EINVAL;
}

static bool is_aggregate_call(const struct ast *ast)
{
	return ast->kind == AST_CALL && find_aggregate(ast->call.name);
}

/*
 * The aggregation calls inside an expression (toint(count()), dcount(x) *
 * 2, ...), each as a hidden summarize item; count only when items is NULL.
 */
static void collect_aggregates(const struct ast *ast, struct ast_assign *items, size_t *count)
{
	switch (ast->kind) {
	case AST_CALL:
		if (is_aggregate_call(ast)) {
			if (items)
				items[*count] = (struct ast_assign){NULL, ast->offset, (struct ast *)ast};
			(*count)++;
			return;
		}
		for (size_t i = 0; i < ast->call.args.count; i++)
			collect_aggregates(ast->call.args.items[i], items, count);
		return;
	case AST_BINARY:
		collect_aggregates(ast->binary.left, items, count);
		collect_aggregates(ast->binary.right, items, count);
		return;
	case AST_LIST_OP:
		collect_aggregates(ast->binary.left, items, count);
		for (size_t i = 0; i < ast->binary.items.count; i++)
			collect_aggregates(ast->binary.items.items[i], items, count);
		return;
	case AST_NEGATE:
		collect_aggregates(ast->operand, items, count);
		return;
	case AST_MEMBER:
	case AST_INDEX:
		collect_aggregates(ast->member.base, items, count);
		if (ast->kind == AST_INDEX)
			collect_aggregates(ast->member.index, items, count);
		return;
	default:
		return;
	}
}

/* The summarize stage proper: keys, then one aggregation per item. */
static int summarize_stage(struct compiler *compiler, struct pipeline *pipeline,
			   const struct ast_tabop *op, const struct ast_assign *items,
			   size_t item_count, size_t *first_outputs)
{
	struct relation input = *kql_pipeline_output(pipeline);
	size_t most = op->by_count;

	for (size_t i = 0; i < item_count; i++) {
		const struct ast *call = items[i].expr;

		most += 1;
		if (call->kind == AST_CALL) {
			for (size_t a = 0; a < call->call.args.count; a++)
				most += call->call.args.items[a]->kind == AST_STAR ? input.count : 1;
		}
	}
	struct stage *stage = kql_stage_add(pipeline, STAGE_SUMMARIZE, op->offset);
	struct summarize_plan *plan = &stage->summarize;

	if (kql_relation_alloc(compiler, &stage->output, most, op->offset) < 0)
		return -ENOMEM;
	plan->keys = kql_compile_alloc(compiler, op->by_count * sizeof(struct expr *), op->offset);
	plan->aggregates = kql_compile_alloc(compiler, item_count * sizeof(struct aggregate_def),
				       op->offset);
	if (!plan->keys || !plan->aggregates)
		return -ENOMEM;
	for (size_t i = 0; i < op->by_count; i++) {
		const struct ast_assign *key = &op->by[i];
		struct expr *expr = kql_stage_expr(compiler, pipeline, key->expr, &input);
		const char *name = key->name ? key->name : source_name(key->expr);

		if (!expr)
			return -EINVAL;
		if (!name)
			name = kql_default_name(compiler, &stage->output, NULL, key->expr->offset);
		if (!name || kql_output_add(compiler, &stage->output, name, true, expr->type,
					expr->kind == EXPR_COLUMN ? input.columns[expr->column].source : -1,
					key->name ? key->name_offset : key->expr->offset) < 0)
			return -EINVAL;
		plan->keys[plan->key_count++] = expr;
	}
	for (size_t i = 0; i < item_count; i++) {
		first_outputs[i] = stage->output.count;
		if (compile_aggregate(compiler, pipeline, &items[i], &input, plan, &stage->output) < 0)
			return -EINVAL;
	}
	return 0;
}

/*
 * summarize.  Items that are expressions around aggregations
 * (x = toint(count())) become hidden aggregations, and a map stage after
 * the summarize computes the expressions and drops the hidden columns.
 */
static int apply_summarize(struct compiler *compiler, struct pipeline *pipeline,
			   const struct ast_tabop *op)
{
	size_t count = 0;

	for (size_t i = 0; i < op->item_count; i++) {
		size_t inside = 0;

		if (is_aggregate_call(op->items[i].expr)) {
			count++;
			continue;
		}
		collect_aggregates(op->items[i].expr, NULL, &inside);
		count += inside ? inside : 1; /* none: compile_aggregate reports it */
	}
	struct ast_assign *items = kql_compile_alloc(compiler, count * sizeof(*items), op->offset);
	size_t *owner = kql_compile_alloc(compiler, count * sizeof(*owner), op->offset);
	size_t *first_outputs = kql_compile_alloc(compiler, (count + 1) * sizeof(*first_outputs),
					    op->offset);
	bool expressions = false;
	size_t used = 0;

	if (!items || !owner || !first_outputs)
		return -ENOMEM;
	for (size_t i = 0; i < op->item_count; i++) {
		size_t before = used;

		if (!is_aggregate_call(op->items[i].expr))
			collect_aggregates(op->items[i].expr, items, &used);
		if (used == before) {
			items[used++] = op->items[i];
		} else {
			expressions = true;
			for (size_t j = before; j < used; j++) {
				char name[48];

				snprintf(name, sizeof(name), "__rmmhunt_aggregate_%zu", j);
				items[j].name = arena_strndup(&compiler->query->arena, name, strlen(name));
				if (!items[j].name)
					return -ENOMEM;
			}
		}
		for (size_t j = before; j < used; j++)
			owner[j] = i;
	}
	if (summarize_stage(compiler, pipeline, op, items, used, first_outputs) < 0)
		return -EINVAL;
	if (!expressions)
		return 0;
	return summarize_expressions(compiler, pipeline, op, items, owner, first_outputs, used);
}

/* distinct a, b: summarize by a, b. */
static int apply_distinct(struct compiler *compiler, struct pipeline *pipeline,
			  const struct ast_tabop *op)
{
	struct relation input = *kql_pipeline_output(pipeline);
	size_t count = op->star ? input.count : op->item_count;
	struct stage *stage = kql_stage_add(pipeline, STAGE_SUMMARIZE, op->offset);

	if (kql_relation_alloc(compiler, &stage->output, count, op->offset) < 0)
		return -ENOMEM;
	stage->summarize.keys = kql_compile_alloc(compiler, count * sizeof(struct expr *), op->offset);
	if (!stage->summarize.keys)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		struct expr *expr;
		const char *name;

		if (op->star) {
			expr = kql_column_ref(compiler, &input, i, op->offset);
			name = input.columns[i].name;
		} else {
			const struct ast_assign *item = &op->items[i];

			if (item->expr->kind != AST_NAME || item->name)
				return kql_compile_fail(compiler, KQL_ERROR_SYNTAX, item->expr->offset,
						    "distinct takes column names");
			expr = kql_stage_expr(compiler, pipeline, item->expr, &input);
			name = item->expr->name;
		}
		if (!expr || kql_output_add(compiler, &stage->output, name, true, expr->type,
					expr->kind == EXPR_COLUMN ? input.columns[expr->column].source : -1,
					op->offset) < 0)
			return -EINVAL;
		stage->summarize.keys[stage->summarize.key_count++] = expr;
	}
	return 0;
}

static int constant_limit(struct compiler *compiler, const struct ast *ast, int64_t *limit)
{
	struct expr *expr = kql_compile_expr(compiler, ast, NULL);

	if (!expr)
		return -EINVAL;
	if (expr->kind != EXPR_CONST || expr->type != VALUE_LONG || expr->constant.is_null ||
	    expr->constant.l < 0)
		return kql_compile_fail(compiler, KQL_ERROR_TYPE, ast->offset,
				    "expected a constant number of rows (a long >= 0)");
	*limit = expr->constant.l;
	return 0;
}

static int apply_sort(struct compiler *compiler, struct pipeline *pipeline,
		      const struct ast_tabop *op)
{
	struct relation input = *kql_pipeline_output(pipeline);
	int64_t limit = -1;

	if (op->kind == TABOP_TOP && constant_limit(compiler, op->limit, &limit) < 0)
		return -EINVAL;
	struct stage *stage = kql_stage_add(pipeline, STAGE_SORT, op->offset);

	stage->output = input;
	stage->sort.limit = limit;
	stage->sort.keys = kql_compile_alloc(compiler, op->key_count * sizeof(struct sort_key), op->offset);
	if (!stage->sort.keys)
		return -ENOMEM;
	for (size_t i = 0; i < op->key_count; i++) {
		const struct ast_sort_key *key = &op->keys[i];
		struct expr *expr = kql_stage_expr(compiler, pipeline, key->expr, &input);

		if (!expr)
			return -EINVAL;
		if (expr->type == VALUE_DYNAMIC)
			expr = kql_expr_convert(compiler, expr, VALUE_STRING);
		if (!expr)
			return -EINVAL;
		stage->sort.keys[i].expr = expr;
		stage->sort.keys[i].descending = key->descending;
		/* Kusto: nulls first when ascending, last when descending */
		stage->sort.keys[i].nulls_first = key->nulls_first < 0 ? !key->descending
									: key->nulls_first == 1;
	}
	stage->sort.key_count = op->key_count;
	return 0;
}

static int apply_operator(struct compiler *compiler, struct pipeline *pipeline,
			  const struct ast_tabop *op)
{
	struct stage *stage;

	switch (op->kind) {
	case TABOP_WHERE: {
		const struct relation *input = kql_pipeline_output(pipeline);
		struct expr *predicate = kql_compile_expr(compiler, op->items[0].expr, input);

		predicate = kql_compile_finish(compiler, kql_expr_convert(compiler, predicate, VALUE_BOOL));
		if (!predicate)
			return -EINVAL;
		pipeline->depends |= predicate->depends;
		struct relation output = *input;

		stage = kql_stage_add(pipeline, STAGE_WHERE, op->offset);
		stage->output = output;
		stage->where.predicate = predicate;
		return 0;
	}
	case TABOP_EXTEND:
		return apply_extend(compiler, pipeline, op);
	case TABOP_PROJECT:
		return apply_project(compiler, pipeline, op);
	case TABOP_PROJECT_AWAY:
	case TABOP_PROJECT_KEEP:
	case TABOP_PROJECT_REORDER:
		return apply_reshape(compiler, pipeline, op);
	case TABOP_PROJECT_RENAME:
		return apply_rename(compiler, pipeline, op);
	case TABOP_SUMMARIZE:
		return apply_summarize(compiler, pipeline, op);
	case TABOP_DISTINCT:
		return apply_distinct(compiler, pipeline, op);
	case TABOP_SORT:
	case TABOP_TOP:
		return apply_sort(compiler, pipeline, op);
	case TABOP_TAKE: {
		int64_t limit = 0;
		struct relation output = *kql_pipeline_output(pipeline);

		if (constant_limit(compiler, op->limit, &limit) < 0)
			return -EINVAL;
		stage = kql_stage_add(pipeline, STAGE_TAKE, op->offset);
		stage->output = output;
		stage->take = limit;
		return 0;
	}
	case TABOP_JOIN:
		return kql_apply_join(compiler, pipeline, op);
	case TABOP_UNION:
		return kql_apply_union(compiler, pipeline, NULL, op->unite->tables.items,
				       op->unite->tables.count, op->unite, op->offset);
	case TABOP_MV_EXPAND:
		return kql_apply_expand(compiler, pipeline, op);
	case TABOP_PARSE:
		return kql_apply_parse(compiler, pipeline, op);
	case TABOP_COUNT: {
		stage = kql_stage_add(pipeline, STAGE_COUNT, op->offset);
		if (kql_relation_alloc(compiler, &stage->output, 1, op->offset) < 0)
			return -ENOMEM;
		stage->output.columns[0] = (struct column){"Count", VALUE_LONG, -1};
		stage->output.count = 1;
		return 0;
	}
	}
	return -EINVAL;
}

/* ---- sources ----------------------------------------------------------------------- */

static struct pipeline *table_pipeline(struct compiler *compiler, int table, size_t offset)
{
	const struct table_schema *schema = compiler->query->tables[table];
	struct pipeline *pipeline = kql_compile_alloc(compiler, sizeof(*pipeline), offset);

	if (!pipeline || kql_relation_alloc(compiler, &pipeline->source, schema->column_count, offset) < 0)
		return NULL;
	for (size_t i = 0; i < schema->column_count; i++)
		pipeline->source.columns[i] =
			(struct column){schema->columns[i].name, schema->columns[i].type, (int)i};
	pipeline->source.count = schema->column_count;
	pipeline->table = table;
	pipeline->depends = DEPENDS_TABLE;
	pipeline->offset = offset;
	return pipeline;
}

static struct pipeline *datatable_pipeline(struct compiler *compiler, const struct ast *ast)
{
	size_t columns = ast->datatable.column_count;
	size_t values = ast->datatable.values.count;
	struct pipeline *pipeline = kql_compile_alloc(compiler, sizeof(*pipeline), ast->offset);

	if (!pipeline || kql_relation_alloc(compiler, &pipeline->source, columns, ast->offset) < 0)
		return NULL;
	if (values % columns != 0) {
		kql_compile_fail(compiler, KQL_ERROR_TYPE, ast->offset,
			     "datatable has %zu columns but %zu values (not a multiple)", columns,
			     values);
		return NULL;
	}
	for (size_t i = 0; i < columns; i++) {
		const struct ast_column_decl *decl = &ast->datatable.columns[i];

		if (kql_relation_has(&pipeline->source, decl->name)) {
			kql_compile_fail(compiler, KQL_ERROR_NAME, decl->offset, "duplicate column '%s'",
				     decl->name);
			return NULL;
		}
		pipeline->source.columns[pipeline->source.count++] =
			(struct column){decl->name, decl->type, -1};
	}
	struct kql_table *table = kql_table_new(&pipeline->source);
	struct value *row = kql_compile_alloc(compiler, columns * sizeof(*row), ast->offset);

	if (!table || kql_query_own_table(compiler->query, table) < 0) {
		kql_table_free(table);
		return out_of_memory(compiler, ast->offset);
	}
	if (!row)
		return NULL;
	for (size_t v = 0; v < values; v++) {
		const struct ast *item = ast->datatable.values.items[v];
		struct expr *expr = kql_compile_expr(compiler, item, NULL);
		const struct column *column = &pipeline->source.columns[v % columns];

		if (!expr)
			return NULL;
		if (expr->kind != EXPR_CONST) {
			kql_compile_fail(compiler, KQL_ERROR_TYPE, item->offset,
				     "datatable values must be constants");
			return NULL;
		}
		if (expr->type != column->type) {
			expr = kql_expr_convert(compiler, expr, column->type);
			if (!expr)
				return NULL;
			if (expr->kind != EXPR_CONST) {
				kql_compile_fail(compiler, KQL_ERROR_TYPE, item->offset,
					     "datatable value does not fit column '%s'", column->name);
				return NULL;
			}
		}
		row[v % columns] = expr->constant;
		if (v % columns == columns - 1 && kql_table_append(table, row) < 0)
			return out_of_memory(compiler, ast->offset);
	}
	pipeline->table = -1;
	pipeline->constant = table;
	pipeline->offset = ast->offset;
	return pipeline;
}

static struct pipeline *name_pipeline(struct compiler *compiler, const struct ast *ast,
				      size_t extra)
{
	for (size_t i = compiler->let_count; i > 0; i--) {
		struct let_binding *let = &compiler->lets[i - 1];

		if (strcmp(let->name, ast->name) != 0)
			continue;
		if (!let->pipeline) {
			kql_compile_fail(compiler, KQL_ERROR_TYPE, ast->offset,
				     "'%s' is a scalar, expected a table", ast->name);
			return NULL;
		}
		return pipeline_copy(compiler, let->pipeline, extra, ast->offset);
	}
	for (size_t i = 0; i < compiler->query->table_count; i++) {
		if (strcmp(compiler->query->tables[i]->name, ast->name) == 0) {
			struct pipeline *pipeline = table_pipeline(compiler, (int)i, ast->offset);

			return pipeline ? pipeline_copy(compiler, pipeline, extra, ast->offset) : NULL;
		}
	}
	if (kql_known_table(ast->name)) {
		kql_compile_fail(compiler, KQL_ERROR_UNSUPPORTED_TABLE, ast->offset,
			     "table '%s' is not filled by rmmhunt (supported: %s%s)", ast->name,
			     compiler->query->table_count ? compiler->query->tables[0]->name : "none",
			     compiler->query->table_count > 1 ? ", ..." : "");
		return NULL;
	}
	kql_compile_fail(compiler, KQL_ERROR_NAME, ast->offset, "unknown table '%s'", ast->name);
	return NULL;
}

struct pipeline *kql_compile_tabular(struct compiler *compiler, const struct ast *ast)
{
	const struct ast *source = ast->kind == AST_PIPE ? ast->pipe.source : ast;
	size_t extra = ast->kind == AST_PIPE ? ast->pipe.op_count : 0;
	struct pipeline *pipeline;

	/* every operator adds up to two stages (parse-where, summarize with
	 * expressions), extend one per column; a union source one */
	for (size_t i = 0; ast->kind == AST_PIPE && i < ast->pipe.op_count; i++)
		extra += 1 + ast->pipe.ops[i].item_count;
	/* materialize(T): Kusto caches T for the query; the rows are the same */
	while (source->kind == AST_CALL && strcmp(source->call.name, "materialize") == 0 &&
	       source->call.args.count == 1)
		source = source->call.args.items[0];
	switch (source->kind) {
	case AST_UNION: {
		const struct ast_union *unite = source->unite;

		pipeline = kql_compile_tabular(compiler, unite->tables.items[0]);
		if (pipeline)
			pipeline = pipeline_copy(compiler, pipeline, extra + 1, source->offset);
		if (pipeline && kql_apply_union(compiler, pipeline, unite->tables.items[0],
						unite->tables.items + 1, unite->tables.count - 1,
						unite, source->offset) < 0)
			return NULL;
		break;
	}
	case AST_NAME:
		pipeline = name_pipeline(compiler, source, extra);
		break;
	case AST_DATATABLE:
		pipeline = datatable_pipeline(compiler, source);
		if (pipeline)
			pipeline = pipeline_copy(compiler, pipeline, extra, source->offset);
		break;
	case AST_PIPE:
		pipeline = kql_compile_tabular(compiler, source);
		if (pipeline)
			pipeline = pipeline_copy(compiler, pipeline, extra, source->offset);
		break;
	default:
		kql_compile_fail(compiler, KQL_ERROR_TYPE, source->offset,
			     "expected a tabular expression (a table, a let-bound table or "
			     "datatable), found a scalar expression");
		return NULL;
	}
	if (!pipeline)
		return NULL;
	for (size_t i = 0; ast->kind == AST_PIPE && i < ast->pipe.op_count; i++) {
		if (apply_operator(compiler, pipeline, &ast->pipe.ops[i]) < 0)
			return NULL;
	}
	return pipeline;
}

/* ---- statements ------------------------------------------------------------------------ */

static int add_let(struct compiler *compiler, const char *name, struct expr *scalar,
		   struct pipeline *pipeline)
{
	struct let_binding *lets = array_reserve(compiler->lets, &compiler->let_capacity,
						 compiler->let_count + 1, 8, sizeof(*lets));

	if (!lets)
		return kql_compile_fail(compiler, KQL_ERROR_NOMEM, 0, "out of memory");
	compiler->lets = lets;
	compiler->lets[compiler->let_count++] = (struct let_binding){name, scalar, pipeline};
	return 0;
}

static bool is_tabular_statement(struct compiler *compiler, const struct ast *ast)
{
	if (ast->kind == AST_PIPE || ast->kind == AST_DATATABLE || ast->kind == AST_UNION)
		return true;
	if (ast->kind == AST_CALL && strcmp(ast->call.name, "materialize") == 0)
		return true;
	if (ast->kind != AST_NAME)
		return false;
	for (size_t i = compiler->let_count; i > 0; i--) {
		if (strcmp(compiler->lets[i - 1].name, ast->name) == 0)
			return compiler->lets[i - 1].pipeline != NULL;
	}
	for (size_t i = 0; i < compiler->query->table_count; i++) {
		if (strcmp(compiler->query->tables[i]->name, ast->name) == 0)
			return true;
	}
	return kql_known_table(ast->name);
}

static int compile_statements(struct compiler *compiler, const struct ast_script *script)
{
	for (size_t i = 0; i < script->count; i++) {
		const struct ast_statement *statement = &script->statements[i];

		if (statement->kind == STATEMENT_QUERY) {
			if (!is_tabular_statement(compiler, statement->expr) &&
			    statement->expr->kind != AST_NAME)
				return kql_compile_fail(compiler, KQL_ERROR_TYPE, statement->expr->offset,
						    "expected a tabular expression (such as "
						    "DeviceProcessEvents | where ...), found a scalar "
						    "expression");
			compiler->query->main = kql_compile_tabular(compiler, statement->expr);
			if (!compiler->query->main)
				return -EINVAL;
			continue;
		}
		if (is_tabular_statement(compiler, statement->expr)) {
			struct pipeline *pipeline = kql_compile_tabular(compiler, statement->expr);

			if (!pipeline || add_let(compiler, statement->name, NULL, pipeline) < 0)
				return -EINVAL;
			continue;
		}
		struct expr *scalar = kql_compile_expr(compiler, statement->expr, NULL);

		scalar = kql_compile_finish(compiler, scalar);
		if (!scalar || add_let(compiler, statement->name, scalar, NULL) < 0)
			return -EINVAL;
	}
	return 0;
}

int kql_compile_query(struct kql_query *query, const char *text, size_t length,
		  struct kql_error *error)
{
	struct ast_script script = {0};
	struct compiler compiler = {0};
	int status;

	compiler.query = query;
	compiler.text = text;
	compiler.error = error;
	status = kql_parse_script(text, length, &query->arena, &script, error);
	if (status == 0)
		status = compile_statements(&compiler, &script);
	/* dynamic literals are now the query's */
	for (size_t i = 0; i < script.json_count; i++) {
		if (kql_query_own_json(query, script.json[i]) < 0) {
			json_decref(script.json[i]);
			status = kql_compile_fail(&compiler, KQL_ERROR_NOMEM, 0, "out of memory");
		}
	}
	free(script.json);
	free(compiler.lets);
	kql_scratch_free(&compiler.scratch);
	return status;
}
