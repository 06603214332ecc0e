/*
 * incremental.c - the agent's incremental summarize (kql.h tells the
 * contract).
 *
 * Design.  A rule reads   T | where/extend... | summarize ... | more...
 * The where conjuncts that depend on now() must all bound one datetime
 * column of T (the window column W, normally Timestamp); every other filter
 * depends only on the row.  So a row either never passes, or passes exactly
 * when W lies in the window [low(now), high(now)].  Each row that passes
 * the row filters is folded into a partial aggregate keyed by
 * (summarize keys, W): rows with the same W are all in or all out of any
 * window, so the result at T is exact: merge the partials whose W is in the
 * window at T (aggregate.c merges exactly, ordering by each row's sequence
 * number), then run the operators after the summarize.  When the first
 * blocking operator is not summarize (distinct, sort, take...), the rows
 * themselves are kept, one partial each, and replayed at T.
 *
 * Expiry: when the window's lower bound is non-decreasing in now (now(),
 * now(-5d), ago(1h), plus/minus constants), partials with W below the lower
 * bound at the latest now seen can never count again and are freed.  Memory
 * is capped: beyond max_bytes the partial with the oldest (W, first row) is
 * evicted and its rows are counted as dropped.
 *
 * Cost.  The agent calls kql_aggregator_add() with a new now for every
 * record, and evaluating the window at a new now (the query's now()-based
 * slots, then the bounds) cost more than the row filters themselves.  The
 * row filters do not depend on now (kql_aggregator_new() refuses those that
 * do), so a row is filtered first, with the slots of any earlier now, and
 * the window is evaluated at now only for a row that passes (where-only
 * prefixes, the rules' kind: an extend's output may point into the slots).  Expiry at the
 * latest now seen waits for the same moment (or a result): the partials it
 * frees are those an eager expiry would have freed by then, since the lower
 * bound only grows, and nothing is added or read in between.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kql/internal.h"

#define DEFAULT_MAX_BYTES (64u << 20)

struct kql_aggregator {
	struct kql_query *query;
	const struct pipeline *main;
	size_t prefix;	     /* where/map stages before the first blocking one */
	const struct stage *summarize; /* NULL: keep rows */
	struct summarize_plan row_plan; /* keys = the prefix's output columns */
	int window;	     /* window column of the table, -1 none */
	bool expires;	     /* lower bound non-decreasing in now */
	struct expr **predicates; /* per prefix stage, without window bounds */
	struct group_table groups;
	struct group **heap; /* oldest (time, first row) first */
	size_t heap_count;
	size_t heap_capacity;
	size_t max_bytes;
	uint64_t sequence;
	bool have_now;
	int64_t latest_now;
	bool expiry_due; /* latest_now's lower bound not applied yet */
	/* row evaluation */
	struct exec_slots *slots;
	struct value **buffers;
	struct scratch scratch;
	bool window_ready;
	int64_t window_now;
	int64_t window_low;
	int64_t window_high;
	/* a where-only prefix: ranges of the other bounded columns at now */
	struct fast_range *ranges;
	size_t range_count;
	struct kql_aggregator_stats stats;
};

/* ---- heap of partials ------------------------------------------------------- */

static bool older(const struct group *a, const struct group *b)
{
	if (a->time != b->time)
		return a->time < b->time;
	return a->first_sequence < b->first_sequence;
}

static int heap_push(struct kql_aggregator *aggregator, struct group *group)
{
	struct group **heap = array_reserve(aggregator->heap, &aggregator->heap_capacity,
					    aggregator->heap_count + 1, 64, sizeof(*heap));

	if (!heap)
		return -ENOMEM;
	aggregator->heap = heap;
	size_t i = aggregator->heap_count++;

	while (i > 0 && older(group, aggregator->heap[(i - 1) / 2])) {
		aggregator->heap[i] = aggregator->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	aggregator->heap[i] = group;
	return 0;
}

static struct group *heap_pop(struct kql_aggregator *aggregator)
{
	struct group **heap = aggregator->heap;
	struct group *top = heap[0];
	struct group *last = heap[--aggregator->heap_count];
	size_t i = 0;

	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= aggregator->heap_count)
			break;
		if (child + 1 < aggregator->heap_count && older(heap[child + 1], heap[child]))
			child++;
		if (!older(heap[child], last))
			break;
		heap[i] = heap[child];
		i = child;
	}
	if (aggregator->heap_count)
		heap[i] = last;
	return top;
}

/* ---- setting up ---------------------------------------------------------------- */

static int refuse(struct kql_error *error, size_t offset, const char *message)
{
	kql_error_set(error, KQL_ERROR_UNSUPPORTED, offset, "%s", message);
	return -EINVAL;
}

/* Is a bound value non-decreasing in now? */
static bool monotone(const struct kql_query *query, const struct expr *expr)
{
	switch (expr->kind) {
	case EXPR_CONST:
	case EXPR_NOW:
		return true;
	case EXPR_SLOT:
		return query->slots[expr->slot].expr && monotone(query, query->slots[expr->slot].expr);
	case EXPR_CALL:
		if (strcmp(expr->call.function->name, "now") != 0 &&
		    strcmp(expr->call.function->name, "ago") != 0)
			return false;
		return expr->call.count == 0 || expr->call.args[0]->kind == EXPR_CONST;
	case EXPR_ARITH:
		return (expr->binary.op == OP_ADD || expr->binary.op == OP_SUB) &&
		       monotone(query, expr->binary.left) && expr->binary.right->kind == EXPR_CONST;
	default:
		return false;
	}
}

static bool bound_moves(const struct time_bound *bound)
{
	return (bound->value->depends & DEPENDS_NOW) != 0;
}

/* Finds the window column and checks nothing else depends on now(). */
static int find_window(struct kql_aggregator *aggregator, struct kql_error *error)
{
	const struct pipeline *main = aggregator->main;

	aggregator->window = -1;
	aggregator->expires = true;
	for (size_t s = 0; s < aggregator->prefix; s++) {
		const struct stage *stage = &main->stages[s];

		for (size_t b = 0; stage->kind == STAGE_WHERE && b < stage->where.bound_count; b++) {
			const struct time_bound *bound = &stage->where.bounds[b];

			if (!bound_moves(bound))
				continue;
			if (aggregator->window >= 0 && aggregator->window != bound->column)
				return refuse(error, stage->offset,
					      "the incremental summarize needs all now()-based "
					      "bounds on one datetime column");
			aggregator->window = bound->column;
			if (bound->lower && !monotone(aggregator->query, bound->value))
				aggregator->expires = false;
		}
	}
	return 0;
}

static struct expr *true_expr(struct arena *arena)
{
	struct expr *expr = arena_alloc(arena, sizeof(*expr));

	if (expr) {
		expr->kind = EXPR_CONST;
		expr->type = VALUE_BOOL;
		expr->constant = kql_value_bool(true);
	}
	return expr;
}

/* Each where's predicate without the bounds on the window column. */
static int build_predicates(struct kql_aggregator *aggregator, struct kql_error *error)
{
	const struct pipeline *main = aggregator->main;
	struct arena *arena = &aggregator->query->arena;

	aggregator->predicates = arena_alloc(arena, (aggregator->prefix + 1) * sizeof(struct expr *));
	if (!aggregator->predicates)
		return -ENOMEM;
	for (size_t s = 0; s < aggregator->prefix; s++) {
		const struct stage *stage = &main->stages[s];

		if (stage->kind != STAGE_WHERE) {
			for (size_t i = 0; i < stage->output.count; i++) {
				if (stage->map.exprs[i]->depends & DEPENDS_NOW)
					return refuse(error, stage->map.exprs[i]->offset,
						      "the incremental summarize cannot keep columns "
						      "computed from now()");
			}
			continue;
		}
		struct expr *predicate = stage->where.rest;
		const struct expr *last = NULL;

		for (size_t b = 0; b < stage->where.bound_count; b++) {
			const struct time_bound *bound = &stage->where.bounds[b];

			if (bound->column == aggregator->window || bound->conjunct == last)
				continue;
			last = bound->conjunct;
			predicate = kql_expr_and(arena, predicate, bound->conjunct);
			if (!predicate)
				return -ENOMEM;
		}
		if (predicate && (predicate->depends & DEPENDS_NOW))
			return refuse(error, predicate->offset,
				      "the incremental summarize needs filters that depend on now() "
				      "to bound one datetime column (such as Timestamp between "
				      "(now(-5d)..now()))");
		aggregator->predicates[s] = predicate ? predicate : true_expr(arena);
		if (!aggregator->predicates[s])
			return -ENOMEM;
	}
	return 0;
}

static int check_summarize(const struct summarize_plan *plan, struct kql_error *error)
{
	for (size_t i = 0; i < plan->key_count; i++) {
		if (plan->keys[i]->depends & DEPENDS_NOW)
			return refuse(error, plan->keys[i]->offset,
				      "the incremental summarize cannot group by values computed "
				      "from now()");
	}
	for (size_t i = 0; i < plan->aggregate_count; i++) {
		const struct aggregate_def *def = &plan->aggregates[i];
		bool now = def->arg && (def->arg->depends & DEPENDS_NOW);

		for (size_t e = 0; e < def->extra_count; e++)
			now = now || (def->extra[e]->depends & DEPENDS_NOW);
		if (now)
			return refuse(error, def->arg ? def->arg->offset : 0,
				      "the incremental summarize cannot aggregate values computed "
				      "from now()");
	}
	return 0;
}

int kql_aggregator_new(struct kql_query *query, size_t max_bytes,
		       struct kql_aggregator **out, struct kql_error *error)
{
	struct kql_error ignored;

	if (!error)
		error = &ignored;
	memset(error, 0, sizeof(*error));
	*out = NULL;
	if (!query->row_only || query->depends_on_tables)
		return refuse(error, query->main->offset,
			      "the query reads more than the row (another table, or a datatable "
			      "source), so rows cannot be folded one by one");
	struct kql_aggregator *aggregator = calloc(1, sizeof(*aggregator));

	if (!aggregator) {
		kql_error_set(error, KQL_ERROR_NOMEM, 0, "out of memory");
		return -ENOMEM;
	}
	aggregator->query = query;
	aggregator->main = query->main;
	aggregator->prefix = query->main->prefix_count;
	aggregator->max_bytes = max_bytes ? max_bytes : DEFAULT_MAX_BYTES;
	const struct stage *next = aggregator->prefix < query->main->stage_count
					   ? &query->main->stages[aggregator->prefix]
					   : NULL;
	int status = find_window(aggregator, error);

	if (status == 0)
		status = build_predicates(aggregator, error);
	if (status == 0 && query->fast) {
		aggregator->ranges = calloc(query->fast_range_count + 1, sizeof(*aggregator->ranges));
		if (!aggregator->ranges)
			status = -ENOMEM;
		for (size_t r = 0; status == 0 && r < query->fast_range_count; r++) {
			if (query->fast_ranges[r].column != aggregator->window)
				aggregator->ranges[aggregator->range_count++] = query->fast_ranges[r];
		}
	}
	if (status == 0 && next && next->kind == STAGE_SUMMARIZE) {
		aggregator->summarize = next;
		status = check_summarize(&next->summarize, error);
		if (status == 0)
			status = kql_group_table_init(&aggregator->groups, &next->summarize,
						  next->summarize.key_count, aggregator->window >= 0, false);
	} else if (status == 0) {
		aggregator->row_plan.key_count = kql_stage_input(query->main, aggregator->prefix)->count;
		status = kql_group_table_init(&aggregator->groups, &aggregator->row_plan,
					  aggregator->row_plan.key_count, aggregator->window >= 0, true);
	}
	if (status < 0) {
		if (error->kind == KQL_ERROR_NONE)
			kql_error_set(error, KQL_ERROR_NOMEM, 0, "out of memory");
		kql_aggregator_free(aggregator);
		return status;
	}
	*out = aggregator;
	return 0;
}

void kql_aggregator_free(struct kql_aggregator *aggregator)
{
	if (!aggregator)
		return;
	kql_group_table_free(&aggregator->groups);
	free(aggregator->heap);
	free(aggregator->ranges);
	if (aggregator->slots) {
		kql_slots_free(aggregator->slots);
		free(aggregator->slots);
	}
	if (aggregator->buffers) {
		for (size_t i = 0; i < aggregator->main->stage_count; i++)
			free(aggregator->buffers[i]);
		free(aggregator->buffers);
	}
	kql_scratch_free(&aggregator->scratch);
	free(aggregator);
}

/* ---- the window ------------------------------------------------------------------- */

/* [low, high] of the window column at now (slots must be at now). */
static int window_at(struct kql_aggregator *aggregator, int64_t now)
{
	if (aggregator->window_ready && aggregator->window_now == now)
		return 0;
	int status = kql_row_state_prepare(aggregator->query, &aggregator->slots, &aggregator->buffers, now);

	if (status < 0)
		return status;
	aggregator->window_low = INT64_MIN;
	aggregator->window_high = INT64_MAX;
	if (aggregator->window >= 0)
		kql_query_bounds(aggregator->query, aggregator->window, aggregator->slots, now,
			     &aggregator->window_low, &aggregator->window_high);
	for (size_t r = 0; r < aggregator->range_count; r++) {
		struct fast_range *range = &aggregator->ranges[r];

		kql_query_bounds(aggregator->query, range->column, aggregator->slots, now, &range->low,
			     &range->high);
	}
	aggregator->window_ready = true;
	aggregator->window_now = now;
	return 0;
}

static void expire(struct kql_aggregator *aggregator, int64_t low)
{
	if (aggregator->window < 0 || !aggregator->expires)
		return;
	while (aggregator->heap_count && aggregator->heap[0]->time < low) {
		struct group *group = heap_pop(aggregator);

		aggregator->stats.rows_expired += group->rows;
		kql_group_table_remove(&aggregator->groups, group);
	}
}

/* Remember the latest now; its expiry is applied by note_now(). */
static void see_now(struct kql_aggregator *aggregator, int64_t now)
{
	if (!aggregator->have_now || now > aggregator->latest_now) {
		aggregator->have_now = true;
		aggregator->latest_now = now;
		aggregator->expiry_due = true;
	}
}

/* Before partials are added or read: expiry at the latest now seen, and
 * the window at now. */
static int note_now(struct kql_aggregator *aggregator, int64_t now)
{
	int status;

	see_now(aggregator, now);
	if (aggregator->expiry_due) {
		status = window_at(aggregator, aggregator->latest_now);
		if (status < 0)
			return status;
		expire(aggregator, aggregator->window_low);
		aggregator->expiry_due = false;
	}
	return window_at(aggregator, now);
}

/* ---- adding rows ------------------------------------------------------------------- */

static void enforce_cap(struct kql_aggregator *aggregator)
{
	while (aggregator->groups.bytes > aggregator->max_bytes && aggregator->heap_count) {
		struct group *group = heap_pop(aggregator);

		aggregator->stats.rows_dropped += group->rows;
		kql_group_table_remove(&aggregator->groups, group);
	}
}

static int store(struct kql_aggregator *aggregator, struct eval_context *context,
		 const struct value *row, int64_t time)
{
	const struct group_table *groups = &aggregator->groups;
	struct value keys[64];
	struct value *key_values = keys;
	const struct value *lookup = row;
	struct group *group;
	size_t before = groups->count;
	int status;

	if (aggregator->summarize) {
		const struct summarize_plan *plan = &aggregator->summarize->summarize;

		if (plan->key_count > 64 && !(key_values = calloc(plan->key_count, sizeof(*key_values))))
			return -ENOMEM;
		context->row = row;
		for (size_t i = 0; i < plan->key_count; i++)
			kql_eval_expr(plan->keys[i], context, &key_values[i]);
		lookup = key_values;
	}
	status = kql_group_table_get(&aggregator->groups, lookup, time, aggregator->sequence, &group);
	if (status == 0 && aggregator->summarize) {
		context->row = row;
		status = kql_group_add_row(&aggregator->groups, group, context, aggregator->sequence);
	} else if (status == 0) {
		group->rows++;
	}
	if (key_values != keys)
		free(key_values);
	/* a new partial joins the heap even if adding the row failed */
	if (groups->count > before && heap_push(aggregator, group) < 0)
		status = -ENOMEM;
	if (status < 0)
		return status;
	aggregator->sequence++;
	aggregator->stats.rows_added++;
	enforce_cap(aggregator);
	return 0;
}

int kql_aggregator_add(struct kql_aggregator *aggregator, const struct value *row, int64_t now,
		       bool *matched)
{
	const struct value *table_row = row;
	/* A where-only prefix needs the slots of some now, not of this one.
	 * Other prefixes get the window first, as their output rows may point
	 * into the slots. */
	bool lazy = aggregator->query->fast && aggregator->window_ready;
	int status = lazy ? 0 : note_now(aggregator, now);

	if (matched)
		*matched = false;
	if (status < 0)
		return status;
	see_now(aggregator, now);
	struct eval_context context = {row, aggregator->slots, &aggregator->scratch, now, 0};

	status = aggregator->query->fast ? kql_fast_filter(aggregator->query, aggregator->ranges,
						       aggregator->range_count, row, &context)
					 : kql_prefix_run(aggregator->main, aggregator->prefix,
						      aggregator->predicates, &context, aggregator->buffers,
						      &row);
	if (status > 0 && lazy) {
		int windowed = note_now(aggregator, now);

		if (windowed < 0)
			status = windowed;
	}
	if (status <= 0) {
		if (!kql_scratch_is_empty(&aggregator->scratch))
			kql_scratch_reset(&aggregator->scratch);
		return status;
	}
	int64_t time = 0;

	if (aggregator->window >= 0) {
		const struct value *column = &table_row[aggregator->window];

		if (column->is_null) { /* fails every bound: never in a window */
			kql_scratch_reset(&aggregator->scratch);
			return 0;
		}
		time = column->ticks;
		if (matched)
			*matched = time >= aggregator->window_low && time <= aggregator->window_high;
		if (aggregator->expires && time < aggregator->window_low) {
			aggregator->stats.rows_expired++;
			kql_scratch_reset(&aggregator->scratch);
			return 0;
		}
	} else if (matched) {
		*matched = true;
	}
	if (matched && *matched) {
		/* mv-expand after the filters: a hit only when something of the row is left */
		int tail = kql_row_tail_matches(aggregator->query, row, aggregator->slots, now);

		if (tail < 0) {
			kql_scratch_reset(&aggregator->scratch);
			return tail;
		}
		*matched = tail == 1;
	}
	status = store(aggregator, &context, row, time);
	kql_scratch_reset(&aggregator->scratch);
	return status;
}

/* ---- results ------------------------------------------------------------------------- */

static bool in_window(const struct kql_aggregator *aggregator, const struct group *group)
{
	return aggregator->window < 0 ||
	       (group->time >= aggregator->window_low && group->time <= aggregator->window_high);
}

/* Summarize path: merge the partials in the window by key. */
static int merged_table(struct kql_aggregator *aggregator, struct group **list, size_t count,
			struct kql_table **out)
{
	const struct summarize_plan *plan = &aggregator->summarize->summarize;
	struct group_table merged;
	int status = kql_group_table_init(&merged, plan, plan->key_count, false, false);

	for (size_t i = 0; status == 0 && i < count; i++) {
		struct group *into;

		if (!in_window(aggregator, list[i]))
			continue;
		status = kql_group_table_get(&merged, list[i]->keys, 0, list[i]->first_sequence, &into);
		if (status == 0)
			status = kql_group_merge(&merged, into, list[i]);
	}
	if (status == 0)
		status = kql_summarize_table(aggregator->summarize, &merged, out);
	kql_group_table_free(&merged);
	return status;
}

/* Row path: the kept rows in the window, in input order. */
static int row_table(struct kql_aggregator *aggregator, struct group **list, size_t count,
		     struct kql_table **out)
{
	*out = kql_table_new(kql_stage_input(aggregator->main, aggregator->prefix));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		if (in_window(aggregator, list[i]) && kql_table_append(*out, list[i]->keys) < 0)
			return -ENOMEM;
	}
	return 0;
}

int kql_aggregator_result(struct kql_aggregator *aggregator, int64_t now,
			  struct kql_table **result, struct kql_error *error)
{
	struct kql_error ignored;
	struct group **list = NULL;
	size_t count = 0;
	struct kql_table *partial = NULL;

	if (!error)
		error = &ignored;
	memset(error, 0, sizeof(*error));
	*result = NULL;
	int status = note_now(aggregator, now);

	if (status == 0)
		status = window_at(aggregator, now);
	if (status == 0)
		status = kql_group_table_list(&aggregator->groups, &list, &count);
	if (status == 0)
		status = aggregator->summarize ? merged_table(aggregator, list, count, &partial)
					       : row_table(aggregator, list, count, &partial);
	free(list);
	if (status < 0) {
		kql_table_free(partial);
		kql_error_set(error, KQL_ERROR_NOMEM, 0, "out of memory");
		return status;
	}
	struct row_input input = {NULL, partial, 0};
	size_t first = aggregator->prefix + (aggregator->summarize ? 1 : 0);

	status = kql_pipeline_run(aggregator->query, aggregator->main, first, &input, aggregator->slots,
			      now, result, error);
	kql_table_free(partial);
	return status;
}

void kql_aggregator_stats(const struct kql_aggregator *aggregator,
			  struct kql_aggregator_stats *stats)
{
	*stats = aggregator->stats;
	stats->partials = aggregator->groups.count;
	stats->bytes = aggregator->groups.bytes;
}
