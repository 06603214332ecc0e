/*
 * exec.c - running a compiled pipeline over rows.
 *
 * Rows stream through where/extend/project/take one at a time, straight from
 * the source (no copy unless a stage builds new values, which then live in
 * scratch space reset after each row).  A blocking operator (summarize,
 * distinct, sort, top, count) collects what reaches it, then hands its
 * output table to the stages after it.  Per-execution constants (slots:
 * now()-based lets, sets read from subqueries) are evaluated once before the
 * first row.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kql/internal.h"

const struct relation *kql_stage_input(const struct pipeline *pipeline, size_t stage)
{
	return stage == 0 ? &pipeline->source : &pipeline->stages[stage - 1].output;
}

static bool is_blocking(enum stage_kind kind)
{
	return kind == STAGE_SUMMARIZE || kind == STAGE_SORT || kind == STAGE_COUNT ||
	       kind == STAGE_JOIN || kind == STAGE_UNION || kind == STAGE_EXPAND;
}

/* Stages that take their whole input as a table. */
static bool takes_table(enum stage_kind kind)
{
	return kind == STAGE_SORT || kind == STAGE_JOIN || kind == STAGE_UNION ||
	       kind == STAGE_EXPAND;
}

/* ---- row inputs -------------------------------------------------------------- */

static int input_next(struct row_input *input, const struct value **row, struct kql_error *error)
{
	if (input->table) {
		if (input->position >= input->table->row_count)
			return 0;
		*row = &input->table->cells[input->position++ * input->table->column_count];
		return 1;
	}
	if (!input->source)
		return -EINVAL;
	int status = input->source->next(input->source->context, row);

	if (status < 0) {
		const char *message = input->source->error_message
					      ? input->source->error_message(input->source->context)
					      : NULL;

		kql_error_set(error, status == -ENOMEM ? KQL_ERROR_NOMEM : KQL_ERROR_RUNTIME, 0,
			  "reading table '%s': %s", input->source->schema->name,
			  message ? message : strerror(-status));
	}
	return status;
}

/* ---- streaming stages ------------------------------------------------------------ */

/*
 * Runs the where/map stages [first, last) on *row.  Returns 1 when the row
 * passes (and *row is the last stage's row), 0 when it is filtered out.
 * predicates (may be NULL) replaces each where's predicate.
 */
static int run_streaming(const struct pipeline *pipeline, size_t first, size_t last,
			 struct expr *const *predicates, struct eval_context *context,
			 struct value **buffers, const struct value **row)
{
	for (size_t s = first; s < last; s++) {
		const struct stage *stage = &pipeline->stages[s];

		context->row = *row;
		if (stage->kind == STAGE_WHERE) {
			const struct expr *predicate =
				predicates ? predicates[s] : stage->where.predicate;

			if (!kql_eval_predicate(predicate, context))
				return 0;
		} else if (stage->kind == STAGE_MAP) {
			struct value *out = buffers[s];

			for (size_t i = 0; i < stage->output.count; i++)
				kql_eval_expr(stage->map.exprs[i], context, &out[i]);
			*row = out;
		}
		if (context->error < 0)
			return context->error;
	}
	return 1;
}

int kql_prefix_run(const struct pipeline *pipeline, size_t stage_limit,
	       struct expr *const *predicates, struct eval_context *context,
	       struct value **buffers, const struct value **row)
{
	return run_streaming(pipeline, 0, stage_limit, predicates, context, buffers, row);
}

/* One value array per map stage in [first, last). */
static struct value **buffers_new(const struct pipeline *pipeline, size_t first, size_t last)
{
	struct value **buffers = calloc(pipeline->stage_count ? pipeline->stage_count : 1,
					sizeof(*buffers));

	if (!buffers)
		return NULL;
	for (size_t s = first; s < last; s++) {
		const struct stage *stage = &pipeline->stages[s];

		if (stage->kind != STAGE_MAP)
			continue;
		buffers[s] = calloc(stage->output.count ? stage->output.count : 1, sizeof(struct value));
		if (!buffers[s]) {
			for (size_t i = first; i < s; i++)
				free(buffers[i]);
			free(buffers);
			return NULL;
		}
	}
	return buffers;
}

static void buffers_free(const struct pipeline *pipeline, struct value **buffers)
{
	if (!buffers)
		return;
	for (size_t s = 0; s < pipeline->stage_count; s++)
		free(buffers[s]);
	free(buffers);
}

/* ---- blocking stages ------------------------------------------------------------------ */

struct sort_context {
	const struct stage *stage;
	const struct value *keys; /* row_count * key_count */
};

static int compare_rows(const void *a, const void *b, void *data)
{
	const struct sort_context *sort = data;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	size_t count = sort->stage->sort.key_count;

	for (size_t k = 0; k < count; k++) {
		const struct sort_key *key = &sort->stage->sort.keys[k];
		const struct value *u = &sort->keys[x * count + k];
		const struct value *v = &sort->keys[y * count + k];

		if (u->is_null != v->is_null)
			return (u->is_null == key->nulls_first) ? -1 : 1;
		int order = kql_value_compare(u, v);

		if (order)
			return key->descending ? -order : order;
	}
	return (x > y) - (x < y); /* stable */
}

static int sort_table(const struct stage *stage, struct kql_table *input,
		      const struct exec_slots *slots, int64_t now, struct kql_table **out)
{
	size_t count = stage->sort.key_count;
	size_t rows = input->row_count;
	struct value *keys = calloc(rows * count + 1, sizeof(*keys));
	size_t *order = calloc(rows + 1, sizeof(*order));
	struct scratch scratch = {0};
	struct eval_context context = {NULL, slots, &scratch, now, 0};
	int status = 0;

	if (!keys || !order) {
		free(keys);
		free(order);
		return -ENOMEM;
	}
	for (size_t r = 0; r < rows; r++) {
		context.row = &input->cells[r * input->column_count];
		for (size_t k = 0; k < count; k++)
			kql_eval_expr(stage->sort.keys[k].expr, &context, &keys[r * count + k]);
		order[r] = r;
	}
	struct sort_context sort = {stage, keys};

	qsort_r(order, rows, sizeof(*order), compare_rows, &sort);
	size_t limit = stage->sort.limit >= 0 && (uint64_t)stage->sort.limit < rows
			       ? (size_t)stage->sort.limit
			       : rows;

	*out = kql_table_new(&stage->output);
	if (!*out || context.error < 0)
		status = -ENOMEM;
	for (size_t r = 0; status == 0 && r < limit; r++)
		status = kql_table_append(*out, &input->cells[order[r] * input->column_count]);
	kql_scratch_free(&scratch);
	free(keys);
	free(order);
	return status;
}

int kql_summarize_table(const struct stage *stage, struct group_table *groups,
		    struct kql_table **out)
{
	struct scratch scratch = {0};
	struct group **list = NULL;
	size_t count = 0;
	struct value *row = calloc(stage->output.count + 1, sizeof(*row));
	int status = row ? 0 : -ENOMEM;

	/* no keys: one row even for empty input */
	if (status == 0 && groups->count == 0 && stage->summarize.key_count == 0) {
		struct group *group;

		status = kql_group_table_get(groups, NULL, 0, 0, &group);
	}
	if (status == 0)
		status = kql_group_table_list(groups, &list, &count);
	if (status < 0) {
		free(row);
		return status;
	}
	*out = kql_table_new(&stage->output);
	if (!*out)
		status = -ENOMEM;
	for (size_t i = 0; status == 0 && i < count; i++) {
		status = kql_group_output(groups, list[i], &scratch, row, &stage->output);
		if (status == 0)
			status = kql_table_append(*out, row);
		kql_scratch_reset(&scratch);
	}
	free(list);
	free(row);
	kql_scratch_free(&scratch);
	return status;
}

/* Where rows of one segment go: a blocking stage, or the result. */
struct sink {
	const struct stage *stage; /* NULL: the result table */
	struct group_table groups;
	struct kql_table *rows;
	int64_t count;
	uint64_t sequence;
};

static int sink_init(struct sink *sink, const struct stage *stage, const struct relation *input)
{
	memset(sink, 0, sizeof(*sink));
	sink->stage = stage;
	if (stage && stage->kind == STAGE_SUMMARIZE)
		return kql_group_table_init(&sink->groups, &stage->summarize,
					stage->summarize.key_count, false, false);
	if (!stage || takes_table(stage->kind)) {
		sink->rows = kql_table_new(input);
		return sink->rows ? 0 : -ENOMEM;
	}
	return 0;
}

static int sink_push(struct sink *sink, struct eval_context *context, const struct value *row)
{
	if (!sink->stage || takes_table(sink->stage->kind))
		return kql_table_append(sink->rows, row);
	if (sink->stage->kind == STAGE_COUNT) {
		sink->count++;
		return 0;
	}
	const struct summarize_plan *plan = &sink->stage->summarize;
	struct value keys[64];
	struct value *key_values = plan->key_count <= 64 ? keys
							 : calloc(plan->key_count, sizeof(*key_values));
	struct group *group;
	int status;

	if (!key_values)
		return -ENOMEM;
	context->row = row;
	for (size_t i = 0; i < plan->key_count; i++)
		kql_eval_expr(plan->keys[i], context, &key_values[i]);
	status = kql_group_table_get(&sink->groups, key_values, 0, sink->sequence, &group);
	if (status == 0)
		status = kql_group_add_row(&sink->groups, group, context, sink->sequence);
	sink->sequence++;
	if (key_values != keys)
		free(key_values);
	return status;
}

static int sink_finish(struct sink *sink, const struct exec_slots *slots, int64_t now,
		       struct kql_table **out)
{
	if (!sink->stage) {
		*out = sink->rows;
		sink->rows = NULL;
		return 0;
	}
	switch (sink->stage->kind) {
	case STAGE_SORT:
		return sort_table(sink->stage, sink->rows, slots, now, out);
	case STAGE_SUMMARIZE:
		return kql_summarize_table(sink->stage, &sink->groups, out);
	case STAGE_COUNT: {
		struct value count = kql_value_long(sink->count);

		*out = kql_table_new(&sink->stage->output);
		return *out ? kql_table_append(*out, &count) : -ENOMEM;
	}
	case STAGE_JOIN:
	case STAGE_UNION:
	case STAGE_EXPAND:
		return kql_table_stage_run(sink->stage, sink->rows, slots, now, out);
	default:
		return -EINVAL;
	}
}

static void sink_free(struct sink *sink)
{
	if (sink->stage && sink->stage->kind == STAGE_SUMMARIZE)
		kql_group_table_free(&sink->groups);
	kql_table_free(sink->rows);
}

/* ---- segments --------------------------------------------------------------------------- */

/*
 * Streams input through stages [first, blocking) into the sink of the
 * blocking stage (or the result).  take stages count rows and stop reading
 * once full.
 */
static int run_segment(const struct pipeline *pipeline, size_t first, size_t blocking,
		       struct row_input *input, const struct exec_slots *slots, int64_t now,
		       struct sink *sink, struct kql_error *error)
{
	struct value **buffers = buffers_new(pipeline, first, blocking);
	int64_t *taken = calloc(pipeline->stage_count + 1, sizeof(*taken));
	struct scratch scratch = {0};
	struct eval_context context = {NULL, slots, &scratch, now, 0};
	int status = buffers && taken ? 0 : -ENOMEM;
	bool full = false;

	while (status == 0 && !full) {
		const struct value *row;

		status = input_next(input, &row, error);
		if (status <= 0)
			break;
		status = 0;
		kql_scratch_reset(&scratch);
		size_t s = first;
		bool passed = true;

		/* where/map runs, with take stages counted in between */
		while (passed && s < blocking) {
			size_t next = s;

			while (next < blocking && pipeline->stages[next].kind != STAGE_TAKE)
				next++;
			int result = run_streaming(pipeline, s, next, NULL, &context, buffers, &row);

			if (result < 0) {
				status = result;
				passed = false;
				break;
			}
			passed = result == 1;
			if (passed && next < blocking) {
				if (taken[next] >= pipeline->stages[next].take) {
					passed = false;
					full = true;
				} else {
					taken[next]++;
				}
				next++;
			}
			s = next;
		}
		if (passed && status == 0)
			status = sink_push(sink, &context, row);
		if (status == 0 && context.error < 0)
			status = context.error;
		/* stop early when the first take is full */
		for (size_t t = first; status == 0 && t < blocking; t++) {
			if (pipeline->stages[t].kind == STAGE_TAKE) {
				full = full || taken[t] >= pipeline->stages[t].take;
				break;
			}
		}
	}
	kql_scratch_free(&scratch);
	free(taken);
	buffers_free(pipeline, buffers);
	if (status < 0 && error->kind == KQL_ERROR_NONE)
		kql_error_set(error, status == -ENOMEM ? KQL_ERROR_NOMEM : KQL_ERROR_RUNTIME, 0,
			  "%s", strerror(-status));
	return status;
}

int kql_pipeline_run(const struct kql_query *query, const struct pipeline *pipeline, size_t first,
		 struct row_input *input, const struct exec_slots *slots, int64_t now,
		 struct kql_table **out, struct kql_error *error)
{
	struct kql_table *intermediate = NULL;
	struct row_input table_input = {0};
	int status = 0;

	(void)query;
	*out = NULL;
	for (;;) {
		size_t blocking = first;

		while (blocking < pipeline->stage_count && !is_blocking(pipeline->stages[blocking].kind))
			blocking++;
		const struct stage *stage =
			blocking < pipeline->stage_count ? &pipeline->stages[blocking] : NULL;
		struct sink sink;
		const struct relation *relation =
			stage ? kql_stage_input(pipeline, blocking) : kql_stage_input(pipeline, pipeline->stage_count);

		status = sink_init(&sink, stage, relation);
		if (status == 0)
			status = run_segment(pipeline, first, blocking, input, slots, now, &sink, error);
		struct kql_table *next = NULL;

		if (status == 0)
			status = sink_finish(&sink, slots, now, &next);
		if (status == 0 && !next)
			status = -EINVAL;
		sink_free(&sink);
		kql_table_free(intermediate);
		intermediate = NULL;
		if (status < 0) {
			kql_table_free(next);
			if (error->kind == KQL_ERROR_NONE)
				kql_error_set(error, status == -ENOMEM ? KQL_ERROR_NOMEM : KQL_ERROR_RUNTIME,
					  0, "%s", strerror(-status));
			return status;
		}
		if (!stage) {
			*out = next;
			return 0;
		}
		intermediate = next;
		table_input = (struct row_input){NULL, intermediate, 0};
		input = &table_input;
		first = blocking + 1;
	}
}

/* ---- slots ---------------------------------------------------------------------------- */

const struct kql_source *kql_exec_find_source(const struct kql_query *query, int table,
					  const struct exec_env *env)
{
	const char *name = query->tables[table]->name;

	for (size_t i = 0; i < env->source_count; i++) {
		if (env->sources[i].schema && strcmp(env->sources[i].schema->name, name) == 0)
			return &env->sources[i];
	}
	return NULL;
}

int kql_pipeline_execute(const struct kql_query *query, const struct pipeline *pipeline,
		     const struct exec_slots *slots, int64_t now, const struct exec_env *env,
		     struct kql_table **out, struct kql_error *error)
{
	struct row_input input = {0};
	const struct kql_table *table = pipeline->constant;

	if (!table && env->materialized && pipeline->table >= 0)
		table = env->materialized[pipeline->table];
	if (table) {
		input.table = table;
	} else {
		input.source = kql_exec_find_source(query, pipeline->table, env);
		if (!input.source) {
			kql_error_set(error, KQL_ERROR_RUNTIME, pipeline->offset,
				  "no rows were given for table '%s'",
				  query->tables[pipeline->table]->name);
			return -EINVAL;
		}
	}
	return kql_pipeline_run(query, pipeline, 0, &input, slots, now, out, error);
}

/* Drops what the values of one evaluation hold, keeping the arrays. */
static void slots_clear(struct exec_slots *slots)
{
	for (size_t i = 0; slots->values && i < slots->count; i++) {
		if (slots->values[i].type == VALUE_DYNAMIC && !slots->values[i].is_null)
			json_decref(slots->values[i].dyn);
		slots->values[i] = kql_value_null(VALUE_BOOL);
	}
	for (size_t i = 0; slots->sets && i < slots->count; i++) {
		if (slots->sets[i]) {
			kql_match_set_free(slots->sets[i]);
			free(slots->sets[i]);
			slots->sets[i] = NULL;
		}
	}
	for (size_t i = 0; slots->tables && i < slots->count; i++) {
		kql_table_free(slots->tables[i]);
		slots->tables[i] = NULL;
	}
	arena_reset(&slots->arena);
	slots->ready = false;
}

void kql_slots_free(struct exec_slots *slots)
{
	slots_clear(slots);
	free(slots->values);
	free(slots->sets);
	free(slots->tables);
	arena_release(&slots->arena);
	memset(slots, 0, sizeof(*slots));
}

static int slot_set(const struct kql_query *query, const struct slot *slot,
		    struct exec_slots *slots, int64_t now, const struct exec_env *env,
		    struct match_set **out, struct kql_error *error)
{
	struct kql_table *table = NULL;
	struct scratch scratch = {0};
	int status = kql_pipeline_execute(query, slot->subquery, slots, now, env, &table, error);

	if (status < 0)
		return status;
	if (!table)
		return -EINVAL;
	struct match_set *set = calloc(1, sizeof(*set));

	if (!set) {
		kql_table_free(table);
		return -ENOMEM;
	}
	set->op = slot->op;
	set->type = slot->type;
	for (size_t r = 0; status == 0 && r < table->row_count; r++) {
		status = kql_match_set_add_converted(set, &table->cells[r * table->column_count], &scratch);
		kql_scratch_reset(&scratch);
	}
	kql_scratch_free(&scratch);
	kql_table_free(table);
	if (status < 0) {
		kql_match_set_free(set);
		free(set);
		return status;
	}
	*out = set;
	return 0;
}

int kql_slots_evaluate(const struct kql_query *query, struct exec_slots *slots, int64_t now,
		   const struct exec_env *env, struct kql_error *error)
{
	struct scratch scratch = {0};
	int status = 0;

	/* the arrays are kept from one evaluation to the next: matching rows
	 * at a new now allocates nothing */
	slots_clear(slots);
	if (!slots->values || slots->count != query->slot_count) {
		kql_slots_free(slots);
		slots->count = query->slot_count;
		slots->values = calloc(query->slot_count + 1, sizeof(*slots->values));
		slots->sets = calloc(query->slot_count + 1, sizeof(*slots->sets));
		slots->tables = calloc(query->slot_count + 1, sizeof(*slots->tables));
		if (!slots->values || !slots->sets || !slots->tables)
			status = -ENOMEM;
	}
	for (size_t i = 0; status == 0 && i < query->slot_count; i++) {
		const struct slot *slot = &query->slots[i];

		if (slot->subquery && (slot->subquery->depends & DEPENDS_TABLE) &&
		    env->source_count == 0 && !env->materialized) {
			/* no tables to read: matching single rows, pushdown */
			slots->values[i] = kql_value_null(VALUE_BOOL);
			continue;
		}
		if (slot->subquery && slot->table) {
			slots->values[i] = kql_value_null(VALUE_BOOL);
			status = kql_pipeline_execute(query, slot->subquery, slots, now, env,
						      &slots->tables[i], error);
			continue;
		}
		if (slot->subquery) {
			slots->values[i] = kql_value_null(VALUE_BOOL);
			status = slot_set(query, slot, slots, now, env, &slots->sets[i], error);
			continue;
		}
		struct eval_context context = {NULL, slots, &scratch, now, 0};
		struct value value;

		kql_eval_expr(slot->expr, &context, &value);
		status = context.error;
		if (status == 0)
			status = kql_value_copy_arena(&slots->values[i], &value, &slots->arena);
		kql_scratch_reset(&scratch);
	}
	kql_scratch_free(&scratch);
	slots->now = now;
	slots->ready = status == 0;
	if (status < 0 && error && error->kind == KQL_ERROR_NONE)
		kql_error_set(error, status == -ENOMEM ? KQL_ERROR_NOMEM : KQL_ERROR_RUNTIME, 0, "%s",
			  strerror(-status));
	return status;
}
