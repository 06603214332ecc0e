/*
 * kql.c - the public face of the engine (kql.h): compiling, executing,
 * matching single rows, and what a compiled query owns.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/array.h"
#include "kql/internal.h"

/* ---- resources a query owns ---------------------------------------------------- */

static int own(void ***items, size_t *count, size_t *capacity, void *item)
{
	void **grown = array_reserve(*items, capacity, *count + 1, 8, sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	*items = grown;
	(*items)[(*count)++] = item;
	return 0;
}

long kql_query_add_slot(struct kql_query *query, struct slot slot)
{
	struct slot *slots = arena_array_reserve(&query->arena, query->slots, query->slot_count,
						 &query->slot_capacity, query->slot_count + 1, 8,
						 sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	query->slots = slots;
	slots[query->slot_count] = slot;
	return (long)query->slot_count++;
}

int kql_query_own_json(struct kql_query *query, json_t *json)
{
	return own((void ***)&query->owned_json, &query->owned_json_count,
		   &query->owned_json_capacity, json);
}

int kql_query_own_regex(struct kql_query *query, struct kql_regex *regex)
{
	int status = own((void ***)&query->regexes, &query->regex_count, &query->regex_capacity,
			 regex);

	if (status < 0)
		kql_regex_free(regex);
	return status;
}

int kql_query_own_set(struct kql_query *query, struct match_set *set)
{
	return own((void ***)&query->sets, &query->set_count, &query->set_capacity, set);
}

int kql_query_own_table(struct kql_query *query, struct kql_table *table)
{
	return own((void ***)&query->constants, &query->constant_count, &query->constant_capacity,
		   table);
}

void kql_query_free(struct kql_query *query)
{
	if (!query)
		return;
	for (size_t i = 0; i < query->owned_json_count; i++)
		json_decref(query->owned_json[i]);
	free(query->owned_json);
	for (size_t i = 0; i < query->regex_count; i++)
		kql_regex_free(query->regexes[i]);
	free(query->regexes);
	for (size_t i = 0; i < query->set_count; i++) {
		kql_match_set_free(query->sets[i]);
		free(query->sets[i]);
	}
	free(query->sets);
	for (size_t i = 0; i < query->constant_count; i++)
		kql_table_free(query->constants[i]);
	free(query->constants);
	if (query->row_slots) {
		kql_slots_free(query->row_slots);
		free(query->row_slots);
	}
	if (query->row_buffers && query->main) {
		for (size_t i = 0; i < query->main->stage_count; i++)
			free(query->row_buffers[i]);
	}
	free(query->row_buffers);
	kql_scratch_free(&query->row_scratch);
	free(query->table_references);
	free(query->tables);
	free(query->text);
	arena_release(&query->arena);
	free(query);
}

/* ---- compiling --------------------------------------------------------------------------- */

/* How many pipelines read each table at execution. */
static void count_references(struct kql_query *query)
{
	if (query->main->table >= 0)
		query->table_references[query->main->table]++;
	for (size_t i = 0; i < query->slot_count; i++) {
		const struct pipeline *subquery = query->slots[i].subquery;

		if (subquery && subquery->table >= 0)
			query->table_references[subquery->table]++;
	}
}

/*
 * Another error came first: still name the Defender tables the text reads
 * that the caller does not fill, so a rule that could never run here says
 * so.
 */
static void note_unsupported_tables(struct kql_error *error, const char *text, size_t length,
				    const struct table_schema *const *tables, size_t table_count)
{
	struct arena arena = {0};
	struct kql_error ignored = {0};
	struct token *tokens;
	size_t count, used = strlen(error->message);
	const char *noted = NULL;

	if (error->kind == KQL_ERROR_UNSUPPORTED_TABLE || error->kind == KQL_ERROR_NOMEM ||
	    kql_lex(text, length, &arena, &tokens, &count, &ignored) < 0) {
		arena_release(&arena);
		return;
	}
	for (size_t i = 0; i < count; i++) {
		bool filled = false;

		if (tokens[i].kind != TOKEN_IDENTIFIER || !kql_known_table(tokens[i].text))
			continue;
		for (size_t t = 0; t < table_count; t++)
			filled = filled || strcmp(tables[t]->name, tokens[i].text) == 0;
		if (filled || (noted && strcmp(noted, tokens[i].text) == 0))
			continue;
		int written = snprintf(error->message + used, sizeof(error->message) - used,
				       "%s%s", noted ? ", " : " (the query also reads ", tokens[i].text);

		if (written < 0 || (size_t)written >= sizeof(error->message) - used)
			break;
		used += (size_t)written;
		noted = tokens[i].text;
	}
	if (noted)
		snprintf(error->message + used, sizeof(error->message) - used,
			 ", not filled by rmmhunt)");
	arena_release(&arena);
}

int kql_compile(const char *text, size_t length, const struct table_schema *const *tables,
		size_t table_count, struct kql_query **out, struct kql_error *error)
{
	struct kql_error ignored;
	struct kql_query *query = calloc(1, sizeof(*query));

	if (!error)
		error = &ignored;
	memset(error, 0, sizeof(*error));
	*out = NULL;
	if (!query) {
		kql_error_set(error, KQL_ERROR_NOMEM, 0, "out of memory");
		return -ENOMEM;
	}
	query->text = malloc(length + 1);
	query->tables = calloc(table_count + 1, sizeof(*query->tables));
	query->table_references = calloc(table_count + 1, sizeof(*query->table_references));
	if (!query->text || !query->tables || !query->table_references) {
		kql_query_free(query);
		kql_error_set(error, KQL_ERROR_NOMEM, 0, "out of memory");
		return -ENOMEM;
	}
	memcpy(query->text, text, length);
	query->text[length] = '\0';
	query->text_length = length;
	for (size_t i = 0; i < table_count; i++)
		query->tables[i] = tables[i];
	query->table_count = table_count;
	int status = kql_compile_query(query, query->text, length, error);

	if (status == 0)
		status = kql_analyze_query(query, error);
	if (status < 0) {
		kql_error_locate(error, text, length);
		note_unsupported_tables(error, text, length, tables, table_count);
		kql_query_free(query);
		return error->kind == KQL_ERROR_NOMEM ? -ENOMEM : -EINVAL;
	}
	count_references(query);
	*out = query;
	return 0;
}

const char *kql_query_table(const struct kql_query *query)
{
	return query->main->table >= 0 ? query->tables[query->main->table]->name : NULL;
}

static const struct relation *query_output(const struct kql_query *query)
{
	return kql_stage_input(query->main, query->main->stage_count);
}

size_t kql_query_column_count(const struct kql_query *query)
{
	return query_output(query)->count;
}

const char *kql_query_column_name(const struct kql_query *query, size_t column)
{
	const struct relation *output = query_output(query);

	return column < output->count ? output->columns[column].name : NULL;
}

enum value_type kql_query_column_type(const struct kql_query *query, size_t column)
{
	const struct relation *output = query_output(query);

	return column < output->count ? output->columns[column].type : VALUE_STRING;
}

/* Runs a table-free pipeline while compiling (datatable subqueries). */
int kql_compile_run_constant(struct compiler *compiler, const struct pipeline *pipeline,
			 struct kql_table **table)
{
	struct exec_env env = {NULL, 0, NULL};
	struct exec_slots slots = {0};
	int status = kql_pipeline_execute(compiler->query, pipeline, &slots, 0, &env, table,
				      compiler->error);

	if (status == 0 && kql_query_own_table(compiler->query, *table) < 0) {
		kql_table_free(*table);
		status = kql_compile_fail(compiler, KQL_ERROR_NOMEM, pipeline->offset, "out of memory");
	}
	return status;
}

/* ---- executing ------------------------------------------------------------------------- */

/* Reads a source to the end into a table. */
static int materialize(const struct kql_query *query, int table, const struct exec_env *env,
		       struct kql_table **out, struct kql_error *error)
{
	struct pipeline whole = {0};

	whole.table = table;
	whole.source.count = query->tables[table]->column_count;
	whole.source.columns = calloc(whole.source.count + 1, sizeof(struct column));
	if (!whole.source.columns)
		return -ENOMEM;
	for (size_t i = 0; i < whole.source.count; i++)
		whole.source.columns[i] = (struct column){query->tables[table]->columns[i].name,
							  query->tables[table]->columns[i].type, (int)i};
	int status = kql_pipeline_execute(query, &whole, NULL, 0, env, out, error);

	free(whole.source.columns);
	return status;
}

int kql_execute(struct kql_query *query, const struct kql_source *sources, size_t source_count,
		int64_t now, struct kql_table **result, struct kql_error *error)
{
	struct kql_error ignored;
	struct kql_table **materialized = calloc(query->table_count + 1, sizeof(*materialized));
	struct exec_env env = {sources, source_count, materialized};
	struct exec_slots slots = {0};
	int status = materialized ? 0 : -ENOMEM;

	if (!error)
		error = &ignored;
	memset(error, 0, sizeof(*error));
	*result = NULL;
	for (size_t i = 0; status == 0 && i < query->table_count; i++) {
		if (query->table_references[i] > 1 && kql_exec_find_source(query, (int)i, &env)) {
			env.materialized = NULL;
			status = materialize(query, (int)i, &env, &materialized[i], error);
			env.materialized = materialized;
		}
	}
	if (status == 0)
		status = kql_slots_evaluate(query, &slots, now, &env, error);
	if (status == 0)
		status = kql_pipeline_execute(query, query->main, &slots, now, &env, result, error);
	kql_slots_free(&slots);
	for (size_t i = 0; materialized && i < query->table_count; i++)
		kql_table_free(materialized[i]);
	free(materialized);
	if (status < 0 && error->kind == KQL_ERROR_NONE)
		kql_error_set(error, status == -ENOMEM ? KQL_ERROR_NOMEM : KQL_ERROR_RUNTIME, 0, "%s",
			  strerror(-status));
	return status;
}

int kql_query_execute_grouped(struct kql_query *query, const struct kql_source *groups,
			      int64_t now, struct kql_table **result, struct kql_error *error)
{
	const struct pipeline *main = query->main;
	struct kql_error ignored;
	struct exec_env env = {NULL, 0, NULL};
	struct exec_slots slots = {0};
	struct row_input input = {groups, NULL, 0};
	int status;

	if (!error)
		error = &ignored;
	memset(error, 0, sizeof(*error));
	*result = NULL;
	/* the groups stand for the summarize after a where-only prefix */
	if (main->table < 0 || query->depends_on_tables || main->prefix_count >= main->stage_count ||
	    (main->stages[main->prefix_count].kind != STAGE_SUMMARIZE &&
	     main->stages[main->prefix_count].kind != STAGE_COUNT)) {
		kql_error_set(error, KQL_ERROR_RUNTIME, 0,
			      "the query has no summarize that computed groups can stand for");
		return -EINVAL;
	}
	status = kql_slots_evaluate(query, &slots, now, &env, error);
	if (status == 0)
		status = kql_pipeline_run(query, main, main->prefix_count + 1, &input,
					  &slots, now, result, error);
	kql_slots_free(&slots);
	if (status < 0 && error->kind == KQL_ERROR_NONE)
		kql_error_set(error, status == -ENOMEM ? KQL_ERROR_NOMEM : KQL_ERROR_RUNTIME, 0, "%s",
			      strerror(-status));
	return status;
}

/* ---- single rows ------------------------------------------------------------------------- */

static void mark_table(struct expr **child, void *data)
{
	if ((*child)->depends & DEPENDS_TABLE)
		*(bool *)data = true;
}

bool kql_prefix_row_only(const struct kql_query *query)
{
	const struct pipeline *main = query->main;

	if (main->table < 0)
		return false;
	for (size_t s = 0; s < main->prefix_count; s++) {
		const struct stage *stage = &main->stages[s];
		bool table = false;

		if (stage->kind == STAGE_WHERE) {
			table = stage->where.predicate->depends & DEPENDS_TABLE;
		} else {
			for (size_t i = 0; i < stage->output.count; i++)
				mark_table(&stage->map.exprs[i], &table);
		}
		if (table)
			return false;
	}
	return true;
}

/* Buffers and slots for matching rows one by one. */
int kql_row_state_prepare(struct kql_query *query, struct exec_slots **slots, struct value ***buffers,
		      int64_t now)
{
	const struct pipeline *main = query->main;

	if (!*buffers) {
		*buffers = calloc(main->stage_count + 1, sizeof(**buffers));
		if (!*buffers)
			return -ENOMEM;
		for (size_t s = 0; s < main->prefix_count; s++) {
			if (main->stages[s].kind != STAGE_MAP)
				continue;
			(*buffers)[s] = calloc(main->stages[s].output.count + 1, sizeof(struct value));
			if (!(*buffers)[s])
				return -ENOMEM;
		}
	}
	if (!*slots) {
		*slots = calloc(1, sizeof(**slots));
		if (!*slots)
			return -ENOMEM;
	}
	if (!(*slots)->ready || (*slots)->now != now) {
		struct exec_env env = {NULL, 0, NULL};

		return kql_slots_evaluate(query, *slots, now, &env, NULL);
	}
	return 0;
}

bool kql_fast_ranges_match(const struct fast_range *ranges, size_t range_count,
			   const struct value *row)
{
	for (size_t r = 0; r < range_count; r++) {
		const struct value *value = &row[ranges[r].column];

		if (value->is_null || value->ticks < ranges[r].low || value->ticks > ranges[r].high)
			return false;
	}
	return true;
}

int kql_fast_filter(const struct kql_query *query, const struct fast_range *ranges,
		size_t range_count, const struct value *row, struct eval_context *context)
{
	if (!kql_fast_ranges_match(ranges, range_count, row))
		return 0;
	for (size_t i = 0; i < query->fast_conjunct_count; i++) {
		if (!kql_eval_predicate(query->fast_conjuncts[i], context))
			return context->error < 0 ? context->error : 0;
	}
	return context->error < 0 ? context->error : 1;
}

int kql_row_tail_matches(const struct kql_query *query, const struct value *row,
			 const struct exec_slots *slots, int64_t now)
{
	const struct pipeline *main = query->main;

	if (!query->tail_end)
		return 1;
	/* the pipeline up to the tail's end, over the one row the prefix left */
	struct pipeline view = *main;
	struct kql_table *input = kql_table_new(kql_stage_input(main, main->prefix_count));
	struct kql_table *out = NULL;
	struct kql_error error = {0};
	int status = input ? kql_table_append(input, row) : -ENOMEM;

	view.stage_count = query->tail_end;
	if (status == 0) {
		struct row_input rows = {NULL, input, 0};

		status = kql_pipeline_run(query, &view, main->prefix_count, &rows, slots, now, &out,
					  &error);
	}
	if (status == 0)
		status = kql_table_row_count(out) > 0 ? 1 : 0;
	kql_table_free(out);
	kql_table_free(input);
	return status;
}

/* The slots and the time ranges at now. */
static int row_state_at(struct kql_query *query, int64_t now)
{
	if (query->row_slots && query->row_slots->ready && query->row_slots->now == now)
		return 0;
	int status = kql_row_state_prepare(query, &query->row_slots, &query->row_buffers, now);

	if (status < 0)
		return status;
	if (query->fast)
		kql_fast_ranges_compute(query, query->row_slots, now);
	return 0;
}

/*
 * A where-only prefix whose conjuncts do not read now(): the conjuncts
 * first, with the slots of any earlier now (those they read do not change
 * with it), then the ranges at now, for the rows that pass them.  The
 * agent matches each record at a new now: the ranges are computed for the
 * few rows that pass, not for every row.
 */
static int fast_filter_ranges_last(struct kql_query *query, const struct value *row,
				   struct eval_context *context, int64_t now)
{
	int status = kql_fast_filter(query, NULL, 0, row, context);

	if (status != 1)
		return status;
	status = row_state_at(query, now);
	if (status < 0)
		return status;
	return !query->fast_never &&
	       kql_fast_ranges_match(query->fast_ranges, query->fast_range_count, row);
}

int kql_query_row_matches(struct kql_query *query, const struct value *row, int64_t now)
{
	if (!query->row_only)
		return -EINVAL;
	bool ranges_last = query->fast && !query->fast_conjuncts_use_now && query->row_slots &&
			   query->row_slots->ready;
	int status = ranges_last ? 0 : row_state_at(query, now);

	if (status < 0)
		return status;
	struct eval_context context = {row, query->row_slots, &query->row_scratch, now, 0};

	if (!query->fast)
		status = kql_prefix_run(query->main, query->main->prefix_count, NULL, &context,
				    query->row_buffers, &row);
	else if (ranges_last)
		status = fast_filter_ranges_last(query, row, &context, now);
	else if (query->fast_never)
		status = 0;
	else
		status = kql_fast_filter(query, query->fast_ranges, query->fast_range_count, row, &context);
	if (status == 1)
		status = kql_row_tail_matches(query, row, query->row_slots, now);
	if (!kql_scratch_is_empty(&query->row_scratch))
		kql_scratch_reset(&query->row_scratch);
	return status;
}

bool kql_query_row_only(const struct kql_query *query)
{
	return query->row_only;
}
