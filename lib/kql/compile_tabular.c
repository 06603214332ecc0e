/*
 * compile_tabular.c - the tabular operators that combine or reshape rows:
 * join, union, mv-expand and parse, turned into pipeline stages.
 *
 * The other side of a join and the other tables of a union are subqueries
 * read once per execution into a table (a table slot, like the lists of
 * `in (subquery)`); the stages then work on whole tables (exec_tables.c).
 * parse becomes a map stage (and a where stage for parse-where) whose
 * columns each read one capture group of one regular expression.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kql/internal.h"

long kql_table_slot(struct compiler *compiler, struct pipeline *subquery)
{
	long index = kql_query_add_slot(compiler->query,
					(struct slot){NULL, subquery, SET_IN, VALUE_BOOL, true});

	if (index < 0) {
		kql_compile_fail(compiler, KQL_ERROR_NOMEM, subquery->offset, "out of memory");
		return -1;
	}
	if (subquery->depends & DEPENDS_TABLE)
		compiler->query->depends_on_tables = true;
	return index;
}

/* ---- join ------------------------------------------------------------------------ */

/* The column of relation named name (Sentinel's TimeGenerated reads Timestamp). */
static int find_column(const struct relation *relation, const char *name)
{
	int index;

	if (kql_relation_find_name(relation, name, &index))
		return index;
	if (strcmp(name, "TimeGenerated") == 0 &&
	    kql_relation_find_name(relation, "Timestamp", &index) &&
	    relation->columns[index].source >= 0)
		return index;
	return -1;
}

static int join_keys(struct compiler *compiler, const struct ast_join *join,
		     const struct relation *left, const struct relation *right,
		     struct join_plan *plan, size_t offset)
{
	plan->left_keys = kql_compile_alloc(compiler, join->key_count * sizeof(struct expr *), offset);
	plan->right_keys = kql_compile_alloc(compiler, join->key_count * sizeof(size_t), offset);
	if (!plan->left_keys || !plan->right_keys)
		return -ENOMEM;
	for (size_t k = 0; k < join->key_count; k++) {
		const struct ast_join_key *key = &join->keys[k];
		int a = find_column(left, key->left), b = find_column(right, key->right);

		if (a < 0)
			return kql_compile_fail(compiler, KQL_ERROR_NAME, key->left_offset,
						"unknown column '%s' on the left side of the join",
						key->left);
		if (b < 0)
			return kql_compile_fail(compiler, KQL_ERROR_NAME, key->right_offset,
						"unknown column '%s' on the right side of the join",
						key->right);
		if (left->columns[a].type != right->columns[b].type)
			return kql_compile_fail(compiler, KQL_ERROR_TYPE, key->left_offset,
						"join keys '%s' (a %s) and '%s' (a %s) differ in type",
						key->left, value_type_name(left->columns[a].type),
						key->right, value_type_name(right->columns[b].type));
		plan->left_keys[k] = kql_column_ref(compiler, left, (size_t)a, key->left_offset);
		if (!plan->left_keys[k])
			return -ENOMEM;
		plan->right_keys[k] = (size_t)b;
	}
	plan->key_count = join->key_count;
	return 0;
}

int kql_apply_join(struct compiler *compiler, struct pipeline *pipeline, const struct ast_tabop *op)
{
	const struct ast_join *join = op->join;
	struct relation left = *kql_pipeline_output(pipeline);
	struct pipeline *right = kql_compile_tabular(compiler, join->right);

	if (!right)
		return -EINVAL;
	const struct relation *other = kql_pipeline_output(right);
	long slot = kql_table_slot(compiler, right);

	if (slot < 0)
		return -ENOMEM;
	pipeline->depends |= right->depends;
	struct stage *stage = kql_stage_add(pipeline, STAGE_JOIN, op->offset);
	struct join_plan *plan = &stage->join;

	plan->kind = join->kind;
	plan->slot = (size_t)slot;
	if (join_keys(compiler, join, &left, other, plan, op->offset) < 0)
		return -EINVAL;
	plan->left_count = join->kind == JOIN_RIGHTSEMI || join->kind == JOIN_RIGHTANTI ? 0
											 : left.count;
	plan->right_count = join->kind == JOIN_LEFTSEMI || join->kind == JOIN_LEFTANTI ? 0
										       : other->count;
	if (kql_relation_alloc(compiler, &stage->output, plan->left_count + plan->right_count,
			       op->offset) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < plan->left_count; i++)
		stage->output.columns[stage->output.count++] = left.columns[i];
	for (size_t i = 0; i < plan->right_count; i++) {
		/* a right column whose name is taken gets a number: Key1 */
		if (kql_output_add(compiler, &stage->output, other->columns[i].name, false,
				   other->columns[i].type, -1, op->offset) < 0)
			return -EINVAL;
	}
	return 0;
}

/* ---- union ------------------------------------------------------------------------ */

/* Adds the columns of relation to output (outer: every name once). */
static int union_columns(struct compiler *compiler, struct relation *output,
			 const struct relation *relation, bool keep_source, size_t offset)
{
	for (size_t i = 0; i < relation->count; i++) {
		const struct column *column = &relation->columns[i];
		int index;

		if (kql_relation_find_name(output, column->name, &index)) {
			if (output->columns[index].type != column->type)
				return kql_compile_fail(compiler, KQL_ERROR_UNSUPPORTED, offset,
							"union: column '%s' is a %s in one table and a "
							"%s in another",
							column->name,
							value_type_name(output->columns[index].type),
							value_type_name(column->type));
			continue;
		}
		output->columns[output->count++] =
			(struct column){column->name, column->type, keep_source ? column->source : -1};
	}
	return 0;
}

/* kind=inner: only the columns every table has (and the withsource column, first). */
static void union_inner(struct relation *output, const struct relation *const *relations,
			size_t count, size_t first)
{
	size_t kept = first;

	for (size_t i = first; i < output->count; i++) {
		bool everywhere = true;
		int index;

		for (size_t r = 0; r < count && everywhere; r++)
			everywhere = kql_relation_find_name(relations[r], output->columns[i].name,
							    &index) != NULL;
		if (everywhere)
			output->columns[kept++] = output->columns[i];
	}
	output->count = kept;
}

static const char *part_name(struct compiler *compiler, const struct ast *ast, size_t index)
{
	char name[32];

	if (ast && ast->kind == AST_NAME)
		return ast->name;
	snprintf(name, sizeof(name), "union_arg%zu", index);
	return arena_strndup(&compiler->query->arena, name, strlen(name));
}

int kql_apply_union(struct compiler *compiler, struct pipeline *pipeline, const struct ast *first,
		    struct ast *const *tables, size_t table_count, const struct ast_union *unite,
		    size_t offset)
{
	size_t parts = table_count + 1;
	const struct relation **relations = kql_compile_alloc(compiler, parts * sizeof(*relations),
							      offset);
	struct union_part *part = kql_compile_alloc(compiler, parts * sizeof(*part), offset);
	size_t total = 1;

	if (!relations || !part)
		return -ENOMEM;
	relations[0] = kql_pipeline_output(pipeline);
	part[0] = (struct union_part){-1, NULL, part_name(compiler, first, 0)};
	for (size_t i = 1; i < parts; i++) {
		const struct ast *table = tables[i - 1];
		struct pipeline *other = kql_compile_tabular(compiler, table);

		if (!other)
			return -EINVAL;
		part[i] = (struct union_part){kql_table_slot(compiler, other), NULL,
					      part_name(compiler, table, i)};
		if (part[i].slot < 0 || !part[i].name)
			return -ENOMEM;
		relations[i] = kql_pipeline_output(other);
		pipeline->depends |= other->depends;
	}
	for (size_t i = 0; i < parts; i++)
		total += relations[i]->count;
	struct relation output;

	if (kql_relation_alloc(compiler, &output, total, offset) < 0)
		return -ENOMEM;
	if (unite->source_column)
		output.columns[output.count++] =
			(struct column){unite->source_column, VALUE_STRING, -1};
	for (size_t i = 0; i < parts; i++) {
		if (union_columns(compiler, &output, relations[i], i == 0, offset) < 0)
			return -EINVAL;
	}
	if (unite->inner)
		union_inner(&output, relations, parts, unite->source_column ? 1 : 0);
	for (size_t i = 0; i < parts; i++) {
		part[i].columns = kql_compile_alloc(compiler, output.count * sizeof(size_t), offset);
		if (!part[i].columns)
			return -ENOMEM;
		for (size_t c = 0; c < output.count; c++) {
			int index;

			part[i].columns[c] = kql_relation_find_name(relations[i], output.columns[c].name,
								    &index) &&
							     !(unite->source_column && c == 0)
						     ? (size_t)index
						     : NO_COLUMN;
		}
	}
	struct stage *stage = kql_stage_add(pipeline, STAGE_UNION, offset);

	stage->output = output;
	stage->unite = (struct union_plan){part, parts, unite->source_column ? 0 : NO_COLUMN};
	return 0;
}

/* ---- mv-expand ------------------------------------------------------------------ */

int kql_apply_expand(struct compiler *compiler, struct pipeline *pipeline,
		     const struct ast_tabop *op)
{
	const struct ast_expand *expand = op->expand;
	struct relation input = *kql_pipeline_output(pipeline);
	struct expand_plan plan = {0};

	plan.exprs = kql_compile_alloc(compiler, expand->count * sizeof(struct expr *), op->offset);
	plan.columns = kql_compile_alloc(compiler, expand->count * sizeof(size_t), op->offset);
	plan.typed = kql_compile_alloc(compiler, expand->count * sizeof(bool), op->offset);
	if (!plan.exprs || !plan.columns || !plan.typed)
		return -ENOMEM;
	struct relation output;

	if (kql_relation_alloc(compiler, &output, input.count + expand->count + 1, op->offset) < 0)
		return -ENOMEM;
	memcpy(output.columns, input.columns, input.count * sizeof(struct column));
	output.count = input.count;
	for (size_t i = 0; i < expand->count; i++) {
		const struct ast_expand_item *item = &expand->items[i];
		struct expr *expr = kql_stage_expr(compiler, pipeline, item->expr, &input);
		const char *name = item->name;
		int index = -1;

		if (!expr)
			return -EINVAL;
		expr = kql_expr_convert(compiler, expr, VALUE_DYNAMIC);
		if (!expr)
			return -EINVAL;
		if (!name && item->expr->kind == AST_NAME)
			name = item->expr->name;
		if (!name)
			name = kql_default_name(compiler, &output, NULL, item->expr->offset);
		if (!name)
			return -ENOMEM;
		if (!kql_relation_find_name(&output, name, &index))
			index = (int)output.count++;
		output.columns[index] =
			(struct column){name, item->typed ? item->type : VALUE_DYNAMIC, -1};
		plan.exprs[i] = expr;
		plan.columns[i] = (size_t)index;
		plan.typed[i] = item->typed;
	}
	plan.count = expand->count;
	plan.bag_as_array = expand->bag_as_array;
	plan.limit = expand->limit;
	plan.index_column = NO_COLUMN;
	if (expand->index_column) {
		if (kql_output_add(compiler, &output, expand->index_column, true, VALUE_LONG, -1,
				   expand->index_offset) < 0)
			return -EINVAL;
		plan.index_column = output.count - 1;
	}
	struct stage *stage = kql_stage_add(pipeline, STAGE_EXPAND, op->offset);

	stage->output = output;
	stage->expand = plan;
	return 0;
}

/* ---- parse ------------------------------------------------------------------------ */

#define PARSE_MAX_GROUPS 64

/* Appends text to the pattern with every regex metacharacter escaped. */
static size_t append_literal(char *out, const char *text, size_t length)
{
	size_t used = 0;

	for (size_t i = 0; i < length; i++) {
		if (strchr("\\^$.|?*+()[]{}", text[i]) && text[i] != '\0')
			out[used++] = '\\';
		out[used++] = text[i];
	}
	return used;
}

/*
 * The capture group that reads a column of type: numbers as digits;
 * relaxed, when they are not there, anything (the column is then null).
 */
static const char *type_pattern(enum value_type type, enum parse_kind kind)
{
	bool relaxed = kind == PARSE_RELAXED;

	switch (type) {
	case VALUE_LONG:
		return relaxed ? "(-?\\d+|.*?)" : "(-?\\d+)";
	case VALUE_REAL:
		return relaxed ? "(-?\\d+(?:\\.\\d+)?(?:[eE][-+]?\\d+)?|.*?)"
			       : "(-?\\d+(?:\\.\\d+)?(?:[eE][-+]?\\d+)?)";
	default:
		return "(.*?)";
	}
}

/* Capture groups inside a regex text of kind=regex (they shift the columns' groups). */
static int text_groups(struct compiler *compiler, const struct ast_parse_element *element,
		       unsigned flags, size_t *groups)
{
	struct kql_regex *regex;
	char message[200];

	if (kql_regex_compile(&regex, element->text, element->length, flags, message,
			      sizeof(message)) < 0)
		return kql_compile_fail(compiler, KQL_ERROR_TYPE, element->offset, "%s", message);
	*groups = kql_regex_group_count(regex);
	kql_regex_free(regex);
	return 0;
}

/*
 * The whole pattern as one regular expression, anchored at both ends: `*`
 * is .*?, a text is itself (kind=regex) or escaped, a column a capture
 * group for its type.  group_of[e] is the group of column element e.
 */
static int parse_pattern(struct compiler *compiler, const struct ast_parse *parse,
			 struct parse_plan *plan, size_t *group_of)
{
	size_t size = 16;

	for (size_t e = 0; e < parse->count; e++)
		size += 2 * parse->elements[e].length + 48;
	char *pattern = malloc(size);
	size_t used = 0, group = 0;
	char message[200];
	unsigned flags = parse->flags | (parse->kind == PARSE_REGEX ? 0 : KQL_REGEX_DOTALL);

	if (!pattern)
		return kql_compile_fail(compiler, KQL_ERROR_NOMEM, parse->source->offset,
					"out of memory");
	pattern[used++] = '^';
	for (size_t e = 0; e < parse->count; e++) {
		const struct ast_parse_element *element = &parse->elements[e];
		size_t inner = 0;

		if (element->kind == PARSE_ANY) {
			used += (size_t)sprintf(pattern + used, ".*?");
		} else if (element->kind == PARSE_TEXT && parse->kind != PARSE_REGEX) {
			used += append_literal(pattern + used, element->text, element->length);
		} else if (element->kind == PARSE_TEXT) {
			if (text_groups(compiler, element, flags, &inner) < 0) {
				free(pattern);
				return -EINVAL;
			}
			used += (size_t)sprintf(pattern + used, "(?:%.*s)", (int)element->length,
						element->text);
			group += inner;
		} else {
			used += (size_t)sprintf(pattern + used, "%s",
						type_pattern(element->type, parse->kind));
			group_of[e] = ++group;
		}
	}
	pattern[used++] = '$';
	if (group > PARSE_MAX_GROUPS) {
		free(pattern);
		return kql_compile_fail(compiler, KQL_ERROR_UNSUPPORTED, parse->source->offset,
					"parse: more than %d columns and groups", PARSE_MAX_GROUPS);
	}
	int status = kql_regex_compile(&plan->regex, pattern, used, flags, message, sizeof(message));

	free(pattern);
	if (status < 0)
		return kql_compile_fail(compiler, status == -ENOMEM ? KQL_ERROR_NOMEM : KQL_ERROR_TYPE,
					parse->source->offset, "parse: %s", message);
	if (kql_query_own_regex(compiler->query, plan->regex) < 0)
		return kql_compile_fail(compiler, KQL_ERROR_NOMEM, parse->source->offset,
					"out of memory");
	plan->count = group;
	return 0;
}

static struct expr *parse_expr_new(struct compiler *compiler, struct expr *operand,
				   const struct parse_plan *plan, size_t group,
				   enum value_type type, size_t offset)
{
	struct expr *expr = kql_expr_new(compiler, EXPR_PARSE, type, offset);

	if (expr) {
		expr->parse.operand = operand;
		expr->parse.plan = plan;
		expr->parse.group = group;
		expr->depends = operand->depends;
	}
	return expr;
}

int kql_apply_parse(struct compiler *compiler, struct pipeline *pipeline,
		    const struct ast_tabop *op)
{
	const struct ast_parse *parse = op->parse;
	const struct relation *input = kql_pipeline_output(pipeline);
	struct parse_plan *plan = kql_compile_alloc(compiler, sizeof(*plan), op->offset);
	size_t *group_of = kql_compile_alloc(compiler, parse->count * sizeof(size_t), op->offset);
	struct expr *operand = kql_stage_expr(compiler, pipeline, parse->source, input);

	if (!plan || !group_of || !operand)
		return -EINVAL;
	operand = kql_expr_convert(compiler, operand, VALUE_STRING);
	if (!operand || parse_pattern(compiler, parse, plan, group_of) < 0)
		return -EINVAL;
	plan->relaxed = parse->kind == PARSE_RELAXED;
	plan->types = kql_compile_alloc(compiler, (plan->count + 1) * sizeof(enum value_type),
					op->offset);
	if (!plan->types)
		return -ENOMEM;
	for (size_t g = 0; g < plan->count; g++)
		plan->types[g] = VALUE_STRING;
	size_t columns = 0;

	for (size_t e = 0; e < parse->count; e++) {
		if (parse->elements[e].kind == PARSE_COLUMN) {
			plan->types[group_of[e] - 1] = parse->elements[e].type;
			columns++;
		}
	}
	if (parse->where) {
		struct stage *where = kql_stage_add(pipeline, STAGE_WHERE, op->offset);

		where->output = *input;
		where->where.predicate =
			parse_expr_new(compiler, operand, plan, 0, VALUE_BOOL, op->offset);
		if (!where->where.predicate)
			return -ENOMEM;
	}
	struct stage *stage = kql_map_identity(compiler, pipeline, columns, op->offset);

	if (!stage)
		return -ENOMEM;
	for (size_t e = 0; e < parse->count; e++) {
		const struct ast_parse_element *element = &parse->elements[e];
		int index;

		if (element->kind != PARSE_COLUMN)
			continue;
		if (!kql_relation_find_name(&stage->output, element->name, &index))
			index = (int)stage->output.count++;
		stage->output.columns[index] = (struct column){element->name, element->type, -1};
		stage->map.exprs[index] = parse_expr_new(compiler, operand, plan, group_of[e],
							 element->type, element->offset);
		if (!stage->map.exprs[index])
			return -ENOMEM;
	}
	return 0;
}
