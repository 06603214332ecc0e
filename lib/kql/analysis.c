/*
 * analysis.c - what a compiled query tells about itself: the time bounds its
 * where clauses put on datetime columns (for the agent's time window and
 * the cache's index range), and the columns it reads (for the cache).
 *
 * Only the streaming prefix of the main pipeline (where/extend/project
 * before the first blocking operator) is looked at: a row dropped there can
 * never reach the result.  A bound is a conjunct of a where clause of the
 * form `C between (a .. b)`, `C >= a`, `C > a`, `C <= b`, `C < b`, `C == a`
 * (either side), where C is a datetime column passed through unchanged from
 * the table and a, b do not depend on the row.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kql/internal.h"

static bool is_table_datetime(const struct relation *input, const struct expr *expr)
{
	return expr->kind == EXPR_COLUMN && input->columns[expr->column].type == VALUE_DATETIME &&
	       input->columns[expr->column].source >= 0;
}

static bool is_row_free(const struct expr *expr)
{
	return !(expr->depends & (DEPENDS_ROW | DEPENDS_TABLE)) && expr->type == VALUE_DATETIME;
}

struct bounds {
	struct time_bound *items;
	size_t count;
	size_t capacity;
};

static int bound_add(struct arena *arena, struct bounds *bounds, struct time_bound bound)
{
	struct time_bound *items = arena_array_reserve(arena, bounds->items, bounds->count,
						       &bounds->capacity, bounds->count + 1, 4,
						       sizeof(*items));

	if (!items)
		return -ENOMEM;
	bounds->items = items;
	bounds->items[bounds->count++] = bound;
	return 0;
}

/* Adds the bounds conjunct puts on a column; 1 when it is a bound, 0 if not. */
static int conjunct_bounds(struct arena *arena, const struct relation *input, struct expr *conjunct,
			   struct bounds *bounds)
{
	if (conjunct->kind == EXPR_BETWEEN && !conjunct->between.negate &&
	    is_table_datetime(input, conjunct->between.value) && is_row_free(conjunct->between.low) &&
	    is_row_free(conjunct->between.high)) {
		int column = input->columns[conjunct->between.value->column].source;

		if (bound_add(arena, bounds,
			      (struct time_bound){column, true, false, conjunct->between.low, conjunct}) < 0 ||
		    bound_add(arena, bounds,
			      (struct time_bound){column, false, false, conjunct->between.high,
						  conjunct}) < 0)
			return -ENOMEM;
		return 1;
	}
	if (conjunct->kind != EXPR_COMPARE || conjunct->binary.op == OP_NE)
		return 0;
	struct expr *left = conjunct->binary.left, *right = conjunct->binary.right;
	enum op op = conjunct->binary.op;

	if (is_table_datetime(input, right) && is_row_free(left)) {
		/* a < C is C > a */
		struct expr *swap = left;

		left = right;
		right = swap;
		op = op == OP_LT ? OP_GT : op == OP_LE ? OP_GE : op == OP_GT ? OP_LT : op == OP_GE ? OP_LE : op;
	}
	if (!is_table_datetime(input, left) || !is_row_free(right))
		return 0;
	int column = input->columns[left->column].source;
	bool lower = op == OP_GT || op == OP_GE || op == OP_EQ;
	bool exclusive = op == OP_GT || op == OP_LT;

	if (bound_add(arena, bounds, (struct time_bound){column, lower, exclusive, right, conjunct}) < 0)
		return -ENOMEM;
	if (op == OP_EQ &&
	    bound_add(arena, bounds, (struct time_bound){column, false, false, right, conjunct}) < 0)
		return -ENOMEM;
	return 1;
}

/* Splits an and-tree into its conjuncts, in order. */
static int split(struct arena *arena, struct expr *expr, struct expr ***items, size_t *count,
		 size_t *capacity)
{
	if (expr->kind == EXPR_AND) {
		int status = split(arena, expr->binary.left, items, count, capacity);

		return status < 0 ? status : split(arena, expr->binary.right, items, count, capacity);
	}
	struct expr **grown = arena_array_reserve(arena, *items, *count, capacity, *count + 1, 8,
						  sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	*items = grown;
	(*items)[(*count)++] = expr;
	return 0;
}

struct expr *kql_expr_and(struct arena *arena, struct expr *left, struct expr *right)
{
	if (!left)
		return right;
	if (!right)
		return left;
	struct expr *both = arena_alloc(arena, sizeof(*both));

	if (!both)
		return NULL;
	both->kind = EXPR_AND;
	both->type = VALUE_BOOL;
	both->depends = left->depends | right->depends;
	both->offset = left->offset;
	both->binary.op = OP_AND;
	both->binary.left = left;
	both->binary.right = right;
	return both;
}

static int analyze_where(struct arena *arena, const struct relation *input, struct stage *stage)
{
	struct expr **conjuncts = NULL;
	size_t count = 0, capacity = 0;
	struct bounds bounds = {0};
	int status = split(arena, stage->where.predicate, &conjuncts, &count, &capacity);

	stage->where.rest = NULL;
	for (size_t i = 0; status == 0 && i < count; i++) {
		status = conjunct_bounds(arena, input, conjuncts[i], &bounds);
		if (status == 0) {
			stage->where.rest = kql_expr_and(arena, stage->where.rest, conjuncts[i]);
			if (!stage->where.rest)
				status = -ENOMEM;
		}
		status = status > 0 ? 0 : status;
	}
	stage->where.bounds = bounds.items;
	stage->where.bound_count = bounds.count;
	return status;
}

/* Rough cost of a conjunct: column string tests first. */
static int conjunct_cost(const struct expr *expr)
{
	switch (expr->kind) {
	case EXPR_STRING:
		return expr->string.constant && expr->string.left->kind == EXPR_COLUMN ? 1 : 3;
	case EXPR_SET:
		return expr->set.set && expr->set.left->kind == EXPR_COLUMN ? 2 : 4;
	case EXPR_COMPARE:
	case EXPR_BETWEEN:
		return 2;
	case EXPR_REGEX:
		return 6;
	default:
		return 5;
	}
}

/* The fast row matcher: only for a prefix made of where clauses. */
static int plan_fast(struct kql_query *query)
{
	struct pipeline *main = query->main;
	size_t conjuncts = 0, ranges = 0;
	struct arena *arena = &query->arena;

	for (size_t s = 0; s < main->prefix_count; s++) {
		if (main->stages[s].kind != STAGE_WHERE)
			return 0;
	}
	for (size_t s = 0; s < main->prefix_count; s++) {
		struct expr **items = NULL;
		size_t count = 0, capacity = 0;

		if (main->stages[s].where.rest &&
		    split(arena, main->stages[s].where.rest, &items, &count, &capacity) < 0)
			return -ENOMEM;
		conjuncts += count;
		ranges += main->stages[s].where.bound_count;
	}
	query->fast_conjuncts = arena_alloc(arena, (conjuncts + 1) * sizeof(struct expr *));
	query->fast_ranges = arena_alloc(arena, (ranges + 1) * sizeof(struct fast_range));
	if (!query->fast_conjuncts || !query->fast_ranges)
		return -ENOMEM;
	for (size_t s = 0; s < main->prefix_count; s++) {
		const struct stage *stage = &main->stages[s];
		struct expr **items = NULL;
		size_t count = 0, capacity = 0;

		if (stage->where.rest && split(arena, stage->where.rest, &items, &count, &capacity) < 0)
			return -ENOMEM;
		for (size_t i = 0; i < count; i++)
			query->fast_conjuncts[query->fast_conjunct_count++] = items[i];
		for (size_t b = 0; b < stage->where.bound_count; b++) {
			int column = stage->where.bounds[b].column;
			size_t r = 0;

			while (r < query->fast_range_count && query->fast_ranges[r].column != column)
				r++;
			if (r == query->fast_range_count)
				query->fast_ranges[query->fast_range_count++] =
					(struct fast_range){column, INT64_MIN, INT64_MAX};
		}
	}
	/* cheapest first (insertion sort: a handful of items) */
	for (size_t i = 1; i < query->fast_conjunct_count; i++) {
		struct expr *item = query->fast_conjuncts[i];
		size_t j = i;

		while (j > 0 && conjunct_cost(query->fast_conjuncts[j - 1]) > conjunct_cost(item)) {
			query->fast_conjuncts[j] = query->fast_conjuncts[j - 1];
			j--;
		}
		query->fast_conjuncts[j] = item;
	}
	for (size_t i = 0; i < query->fast_conjunct_count; i++)
		query->fast_conjuncts_use_now |= (query->fast_conjuncts[i]->depends & DEPENDS_NOW) != 0;
	query->fast = true;
	return 0;
}

void kql_fast_ranges_compute(struct kql_query *query, const struct exec_slots *slots, int64_t now)
{
	query->fast_never = false;
	for (size_t r = 0; r < query->fast_range_count; r++) {
		struct fast_range *range = &query->fast_ranges[r];

		if (kql_query_bounds(query, range->column, slots, now, &range->low, &range->high) < 0)
			continue;
		if (range->low > range->high)
			query->fast_never = true;
	}
}

/* The row tail: mv-expand right after the prefix, with the where/extend after it. */
static void plan_tail(struct kql_query *query)
{
	const struct pipeline *main = query->main;
	size_t end = main->prefix_count;
	bool expand = false;

	while (end < main->stage_count &&
	       (main->stages[end].kind == STAGE_EXPAND || main->stages[end].kind == STAGE_WHERE ||
		main->stages[end].kind == STAGE_MAP)) {
		expand = expand || main->stages[end].kind == STAGE_EXPAND;
		end++;
	}
	query->tail_end = expand ? end : 0;
}

int kql_analyze_query(struct kql_query *query, struct kql_error *error)
{
	struct pipeline *main = query->main;

	for (size_t s = 0; s < main->prefix_count; s++) {
		if (main->stages[s].kind != STAGE_WHERE)
			continue;
		if (analyze_where(&query->arena, kql_stage_input(main, s), &main->stages[s]) < 0) {
			kql_error_set(error, KQL_ERROR_NOMEM, 0, "out of memory");
			return -ENOMEM;
		}
	}
	/* a join or union that reads a table again decides later what a row
	 * gives: then rows cannot be matched one by one */
	query->row_only = kql_prefix_row_only(query) && !query->depends_on_tables;
	plan_tail(query);
	if (query->row_only && plan_fast(query) < 0) {
		kql_error_set(error, KQL_ERROR_NOMEM, 0, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* ---- pushdown ----------------------------------------------------------------------- */

static int64_t bound_ticks(const struct time_bound *bound, const struct exec_slots *slots,
			   int64_t now, bool *null)
{
	struct scratch scratch = {0};
	struct eval_context context = {NULL, slots, &scratch, now, 0};
	struct value value;

	kql_eval_expr(bound->value, &context, &value);
	kql_scratch_free(&scratch);
	*null = value.is_null;
	if (value.is_null)
		return 0;
	if (bound->exclusive)
		return bound->lower ? (value.ticks == INT64_MAX ? INT64_MAX : value.ticks + 1)
				    : (value.ticks == INT64_MIN ? INT64_MIN : value.ticks - 1);
	return value.ticks;
}

int kql_query_bounds(const struct kql_query *query, int column, const struct exec_slots *slots,
		 int64_t now, int64_t *low, int64_t *high)
{
	const struct pipeline *main = query->main;
	bool found = false;

	*low = INT64_MIN;
	*high = INT64_MAX;
	for (size_t s = 0; s < main->prefix_count; s++) {
		const struct stage *stage = &main->stages[s];

		for (size_t b = 0; stage->kind == STAGE_WHERE && b < stage->where.bound_count; b++) {
			const struct time_bound *bound = &stage->where.bounds[b];
			bool null;

			if (bound->column != column)
				continue;
			int64_t ticks = bound_ticks(bound, slots, now, &null);

			found = true;
			if (null) { /* compares with null: no row passes */
				*low = INT64_MAX;
				*high = INT64_MIN;
			} else if (bound->lower && ticks > *low) {
				*low = ticks;
			} else if (!bound->lower && ticks < *high) {
				*high = ticks;
			}
		}
	}
	return found ? 0 : -ENOENT;
}

int kql_query_time_range(const struct kql_query *query, const char *column, int64_t now,
			 int64_t *low, int64_t *high)
{
	const struct pipeline *main = query->main;

	if (main->table < 0 || query->table_references[main->table] != 1)
		return -ENOENT;
	int index = schema_find_column(query->tables[main->table], column);

	if (index < 0)
		return -ENOENT;
	struct exec_slots slots = {0};
	struct exec_env env = {NULL, 0, NULL};
	int status = kql_slots_evaluate(query, &slots, now, &env, NULL);

	if (status == 0)
		status = kql_query_bounds(query, index, &slots, now, low, high);
	kql_slots_free(&slots);
	return status;
}

/* ---- required terms ---------------------------------------------------------------- */

struct term_finder {
	const struct relation *input;
	struct kql_required_term *terms;
	size_t capacity, count;
};

static void find_terms(struct term_finder *finder, const struct expr *expr)
{
	if (expr->kind == EXPR_AND) {
		find_terms(finder, expr->binary.left);
		find_terms(finder, expr->binary.right);
		return;
	}
	if (expr->kind != EXPR_STRING || expr->string.match.negate || !expr->string.constant ||
	    expr->string.left->kind != EXPR_COLUMN || expr->string.right->kind != EXPR_CONST ||
	    expr->string.right->constant.type != VALUE_STRING ||
	    expr->string.right->constant.is_null || expr->string.right->constant.len == 0 ||
	    finder->count == finder->capacity)
		return;
	int source = finder->input->columns[expr->string.left->column].source;

	if (source < 0)
		return;
	finder->terms[finder->count++] = (struct kql_required_term){
		(size_t)source, expr->string.right->constant.str, expr->string.right->constant.len,
		expr->string.match.case_sensitive};
}

int kql_query_required_terms(const struct kql_query *query, struct kql_required_term *terms,
			     size_t capacity)
{
	const struct pipeline *main = query->main;
	struct term_finder finder = {NULL, terms, capacity, 0};

	if (main->table < 0 || query->table_references[main->table] != 1)
		return -ENOENT;
	for (size_t s = 0; s < main->prefix_count; s++) {
		const struct stage *stage = &main->stages[s];

		if (stage->kind != STAGE_WHERE || !stage->where.predicate)
			continue;
		finder.input = kql_stage_input(main, s);
		find_terms(&finder, stage->where.predicate);
	}
	return (int)finder.count;
}

/* ---- filters for a store ------------------------------------------------------------ */

struct filter_builder {
	const struct relation *input;
	struct kql_filter *nodes;
	size_t capacity, count;
	bool exact; /* every part or nothing: an and needs both sides too */
};

/* The table column expr reads unchanged, or -1. */
static int table_column(const struct filter_builder *builder, const struct expr *expr)
{
	if (expr->kind != EXPR_COLUMN)
		return -1;
	return builder->input->columns[expr->column].source;
}

static bool is_constant(const struct expr *expr, enum value_type type)
{
	return expr->kind == EXPR_CONST && expr->constant.type == type && !expr->constant.is_null;
}

/* An atom as a node: its index, or -1 when it has none of the forms. */
static long filter_atom(struct filter_builder *builder, const struct expr *expr)
{
	struct kql_filter node = {0};
	int column = -1;

	if (expr->kind == EXPR_STRING && !expr->string.match.negate && expr->string.constant &&
	    is_constant(expr->string.right, VALUE_STRING)) {
		column = table_column(builder, expr->string.left);
		node = (struct kql_filter){.kind = KQL_FILTER_MATCH,
					   .match = (int)expr->string.match.kind,
					   .case_sensitive = expr->string.match.case_sensitive,
					   .values = &expr->string.right->constant,
					   .value_count = 1};
	} else if (expr->kind == EXPR_SET && expr->set.set &&
		   (expr->set.op == SET_IN || expr->set.op == SET_IN_CI) &&
		   expr->set.set->type == VALUE_STRING) {
		column = table_column(builder, expr->set.left);
		node = (struct kql_filter){.kind = KQL_FILTER_IN,
					   .case_sensitive = expr->set.op == SET_IN,
					   .values = expr->set.set->values.values,
					   .value_count = expr->set.set->values.count};
	} else if (expr->kind == EXPR_COMPARE && expr->binary.op == OP_EQ) {
		bool left_is_column = table_column(builder, expr->binary.left) >= 0;
		const struct expr *named = left_is_column ? expr->binary.left : expr->binary.right;
		const struct expr *side = left_is_column ? expr->binary.right : expr->binary.left;

		column = table_column(builder, named);
		if (column >= 0 && (is_constant(side, VALUE_STRING) || is_constant(side, VALUE_LONG) ||
				    is_constant(side, VALUE_BOOL)) &&
		    side->constant.type == named->type)
			node = (struct kql_filter){.kind = KQL_FILTER_EQUALS,
						   .values = &side->constant,
						   .value_count = 1};
		else
			column = -1;
	}
	if (column < 0 || builder->count == builder->capacity)
		return -1;
	node.column = (size_t)column;
	builder->nodes[builder->count] = node;
	return (long)builder->count++;
}

static long filter_node(struct filter_builder *builder, const struct expr *expr);

/* An and keeps what it can of either side; an or needs both. */
static long filter_pair(struct filter_builder *builder, const struct expr *expr, bool both)
{
	size_t mark = builder->count;

	if (builder->count == builder->capacity)
		return -1;
	builder->count++;
	long left = filter_node(builder, expr->binary.left);
	long right = filter_node(builder, expr->binary.right);

	if ((both || builder->exact) && (left < 0 || right < 0)) {
		builder->count = mark;
		return -1;
	}
	if (left < 0 || right < 0) {
		long kept = left < 0 ? right : left;

		if (kept < 0) {
			builder->count = mark;
			return -1;
		}
		/* the and holds one side: the node becomes a copy of it */
		builder->nodes[mark] = builder->nodes[kept];
		return (long)mark;
	}
	builder->nodes[mark] = (struct kql_filter){.kind = both ? KQL_FILTER_OR : KQL_FILTER_AND,
						   .left = (size_t)left,
						   .right = (size_t)right};
	return (long)mark;
}

static long filter_node(struct filter_builder *builder, const struct expr *expr)
{
	if (expr->kind == EXPR_AND)
		return filter_pair(builder, expr, false);
	if (expr->kind == EXPR_OR)
		return filter_pair(builder, expr, true);
	return filter_atom(builder, expr);
}

int kql_query_filter(const struct kql_query *query, struct kql_filter *nodes, size_t capacity)
{
	const struct pipeline *main = query->main;
	struct filter_builder builder = {NULL, nodes, capacity, 0, false};
	long root = -1;

	if (main->table < 0 || query->table_references[main->table] != 1)
		return -ENOENT;
	if (capacity == 0)
		return 0;
	builder.count = 1; /* nodes[0]: the root, filled last */
	for (size_t s = 0; s < main->prefix_count; s++) {
		const struct stage *stage = &main->stages[s];

		if (stage->kind != STAGE_WHERE || !stage->where.predicate)
			continue;
		builder.input = kql_stage_input(main, s);
		long node = filter_node(&builder, stage->where.predicate);

		if (node < 0)
			continue;
		if (root < 0) {
			root = node;
			continue;
		}
		if (builder.count == builder.capacity)
			break;
		builder.nodes[builder.count] = (struct kql_filter){
			.kind = KQL_FILTER_AND, .left = (size_t)root, .right = (size_t)node};
		root = (long)builder.count++;
	}
	if (root < 0)
		return 0;
	nodes[0] = nodes[root];
	return (int)builder.count;
}

/* ---- summarize for a store ---------------------------------------------------------- */

/* The table column a summarize key or aggregate argument reads unchanged, or -1. */
static int plain_column(const struct relation *input, const struct expr *expr)
{
	if (!expr || expr->kind != EXPR_COLUMN)
		return -1;
	return input->columns[expr->column].source;
}

/* Can a store compute this aggregate exactly as aggregate.c does? */
static bool pushable_aggregate(const struct aggregate_def *def, const struct relation *input,
			       struct kql_grouped_aggregate *out)
{
	static const struct {
		enum aggregate_kind engine;
		enum kql_grouped_kind kind;
	} kinds[] = {
		{AGG_COUNT, KQL_GROUPED_COUNT},	      {AGG_MIN, KQL_GROUPED_MIN},
		{AGG_MAX, KQL_GROUPED_MAX},	      {AGG_SUM, KQL_GROUPED_SUM},
		{AGG_DCOUNT, KQL_GROUPED_DCOUNT},     {AGG_MAKE_SET, KQL_GROUPED_MAKE_SET},
		{AGG_MAKE_LIST, KQL_GROUPED_MAKE_LIST},
	};
	size_t k = 0;

	while (k < sizeof(kinds) / sizeof(kinds[0]) && kinds[k].engine != def->kind)
		k++;
	if (k == sizeof(kinds) / sizeof(kinds[0]) || def->extra_count || def->output_count != 1)
		return false;
	*out = (struct kql_grouped_aggregate){kinds[k].kind, 0, def->cap};
	if (def->kind == AGG_COUNT)
		return def->arg == NULL;
	int column = plain_column(input, def->arg);
	enum value_type type = def->arg->type;

	if (column < 0)
		return false;
	out->column = (size_t)column;
	switch (def->kind) {
	case AGG_MIN:
	case AGG_MAX:
		return type == VALUE_STRING || type == VALUE_LONG || type == VALUE_DATETIME ||
		       type == VALUE_TIMESPAN;
	case AGG_SUM:
		return type == VALUE_LONG || type == VALUE_TIMESPAN;
	case AGG_DCOUNT:
		return type == VALUE_STRING || type == VALUE_LONG || type == VALUE_DATETIME ||
		       type == VALUE_TIMESPAN || type == VALUE_BOOL;
	default: /* make_set, make_list */
		return type == VALUE_STRING || type == VALUE_LONG;
	}
}

/* The exact filter of the prefix's where conjuncts that are not time bounds. */
static int exact_filter(const struct pipeline *main, struct kql_filter *nodes, size_t capacity)
{
	struct filter_builder builder = {NULL, nodes, capacity, 0, true};
	long root = -1;

	if (capacity == 0)
		return -EOPNOTSUPP;
	builder.count = 1; /* nodes[0]: the root, filled last */
	for (size_t s = 0; s < main->prefix_count; s++) {
		const struct stage *stage = &main->stages[s];

		if (!stage->where.rest)
			continue;
		builder.input = kql_stage_input(main, s);
		long node = filter_node(&builder, stage->where.rest);

		if (node < 0 || (root >= 0 && builder.count == builder.capacity))
			return -EOPNOTSUPP;
		if (root >= 0) {
			builder.nodes[builder.count] = (struct kql_filter){
				.kind = KQL_FILTER_AND, .left = (size_t)root, .right = (size_t)node};
			node = (long)builder.count++;
		}
		root = node;
	}
	if (root < 0)
		return 0;
	nodes[0] = nodes[root];
	return (int)builder.count;
}

int kql_query_summarize_pushdown(const struct kql_query *query, const char *time_column,
				 struct kql_filter *nodes, size_t capacity,
				 struct kql_summarize_pushdown *pushdown)
{
	const struct pipeline *main = query->main;

	memset(pushdown, 0, sizeof(*pushdown));
	if (main->table < 0 || query->table_references[main->table] != 1 ||
	    query->depends_on_tables || main->prefix_count >= main->stage_count ||
	    (main->stages[main->prefix_count].kind != STAGE_SUMMARIZE &&
	     main->stages[main->prefix_count].kind != STAGE_COUNT))
		return -EOPNOTSUPP;
	int time = schema_find_column(query->tables[main->table], time_column);

	for (size_t s = 0; s < main->prefix_count; s++) {
		const struct stage *stage = &main->stages[s];

		if (stage->kind != STAGE_WHERE)
			return -EOPNOTSUPP;
		for (size_t b = 0; b < stage->where.bound_count; b++)
			if (stage->where.bounds[b].column != time)
				return -EOPNOTSUPP;
	}
	const struct stage *summarize = &main->stages[main->prefix_count];
	/* the count operator is summarize count() */
	struct aggregate_def count_operator = {.kind = AGG_COUNT, .output_count = 1};
	const struct summarize_plan count_plan = {NULL, 0, &count_operator, 1};
	const struct summarize_plan *plan =
		summarize->kind == STAGE_COUNT ? &count_plan : &summarize->summarize;
	const struct relation *input = kql_stage_input(main, main->prefix_count);

	if (plan->key_count > KQL_GROUPED_MAX_KEYS ||
	    plan->aggregate_count > KQL_GROUPED_MAX_AGGREGATES)
		return -EOPNOTSUPP;
	for (size_t k = 0; k < plan->key_count; k++) {
		int column = plain_column(input, plan->keys[k]);

		/* reals: a store's equality (-0 and 0, NaN) need not be the engine's */
		if (column < 0 || plan->keys[k]->type == VALUE_DYNAMIC ||
		    plan->keys[k]->type == VALUE_REAL)
			return -EOPNOTSUPP;
		pushdown->keys[pushdown->key_count++] = (size_t)column;
	}
	for (size_t a = 0; a < plan->aggregate_count; a++) {
		if (!pushable_aggregate(&plan->aggregates[a], input,
					&pushdown->aggregates[pushdown->aggregate_count++]))
			return -EOPNOTSUPP;
	}
	int count = exact_filter(main, nodes, capacity);

	if (count < 0)
		return count;
	pushdown->filter_count = (size_t)count;
	return 0;
}

/* ---- columns used -------------------------------------------------------------------- */

struct marker {
	const struct relation *input;
	bool *used;
	size_t count;
};

static void mark_columns(struct expr **child, void *data)
{
	struct marker *marker = data;
	const struct expr *expr = *child;

	if (expr->kind == EXPR_COLUMN) {
		int source = marker->input->columns[expr->column].source;

		if (source >= 0 && (size_t)source < marker->count)
			marker->used[source] = true;
		return;
	}
	kql_expr_visit(*child, mark_columns, data);
}

static void mark_expr(struct marker *marker, struct expr *expr)
{
	if (expr)
		mark_columns(&expr, marker);
}

static void mark_pipeline(const struct pipeline *pipeline, bool *used, size_t count)
{
	for (size_t s = 0; s < pipeline->stage_count; s++) {
		struct stage *stage = &pipeline->stages[s];
		struct marker marker = {kql_stage_input(pipeline, s), used, count};

		switch (stage->kind) {
		case STAGE_WHERE:
			mark_expr(&marker, stage->where.predicate);
			break;
		case STAGE_MAP:
			for (size_t i = 0; i < stage->output.count; i++)
				mark_expr(&marker, stage->map.exprs[i]);
			break;
		case STAGE_SUMMARIZE:
			for (size_t i = 0; i < stage->summarize.key_count; i++)
				mark_expr(&marker, stage->summarize.keys[i]);
			for (size_t i = 0; i < stage->summarize.aggregate_count; i++) {
				struct aggregate_def *def = &stage->summarize.aggregates[i];

				mark_expr(&marker, def->arg);
				for (size_t e = 0; e < def->extra_count; e++)
					mark_expr(&marker, def->extra[e]);
			}
			break;
		case STAGE_SORT:
			for (size_t i = 0; i < stage->sort.key_count; i++)
				mark_expr(&marker, stage->sort.keys[i].expr);
			break;
		case STAGE_JOIN:
			for (size_t i = 0; i < stage->join.key_count; i++)
				mark_expr(&marker, stage->join.left_keys[i]);
			break;
		case STAGE_EXPAND:
			for (size_t i = 0; i < stage->expand.count; i++)
				mark_expr(&marker, stage->expand.exprs[i]);
			break;
		default:
			break;
		}
	}
	const struct relation *output = kql_stage_input(pipeline, pipeline->stage_count);

	for (size_t i = 0; i < output->count; i++) {
		int source = output->columns[i].source;

		if (source >= 0 && (size_t)source < count)
			used[source] = true;
	}
}

int kql_query_columns_used(const struct kql_query *query, const char *table, bool *used,
			   size_t column_count)
{
	bool found = false;

	memset(used, 0, column_count * sizeof(*used));
	for (size_t p = 0; p <= query->slot_count; p++) {
		const struct pipeline *pipeline = p == 0 ? query->main : query->slots[p - 1].subquery;

		if (!pipeline || pipeline->table < 0 ||
		    strcmp(query->tables[pipeline->table]->name, table) != 0)
			continue;
		found = true;
		mark_pipeline(pipeline, used, column_count);
	}
	return found ? 0 : -ENOENT;
}
