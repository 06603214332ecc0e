/*
 * exec_tables.c - the stages that work on whole tables: join (with the
 * other side read once per execution into a table slot), union, mv-expand.
 *
 * join hashes the right table on its keys; keys match when every key is
 * non-null and equal (strings are never null, so "" matches "").  The
 * output keeps the left rows' order, each with its matches in the right
 * table's order; right rows without a match (rightouter, fullouter,
 * rightanti) come last, in order.  innerunique keeps the first left row of
 * each key (Kusto keeps an arbitrary one).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kql/internal.h"

/* The null a column of type holds: "" for strings, which are never null. */
static struct value empty_of(enum value_type type)
{
	return type == VALUE_STRING ? kql_value_string("", 0) : kql_value_null(type);
}

/* ---- join ------------------------------------------------------------------------ */

struct key_index {
	size_t *head; /* per bucket: first row + 1, 0 none */
	size_t *next; /* per row: next row + 1 in its bucket */
	size_t mask;
};

static uint64_t keys_hash(const struct value *keys, size_t count)
{
	uint64_t hash = 0x9e3779b97f4a7c15ULL;

	for (size_t k = 0; k < count; k++)
		hash = (hash ^ kql_value_hash(&keys[k])) * 0x100000001b3ULL;
	return hash;
}

static bool keys_null(const struct value *keys, size_t count)
{
	for (size_t k = 0; k < count; k++) {
		if (keys[k].is_null && keys[k].type != VALUE_STRING)
			return true;
	}
	return false;
}

static bool keys_equal(const struct value *a, const struct value *b, size_t count)
{
	for (size_t k = 0; k < count; k++) {
		if (!kql_value_equal(&a[k], &b[k]))
			return false;
	}
	return true;
}

static int index_init(struct key_index *index, size_t rows)
{
	size_t size = 16;

	while (size < 2 * rows)
		size *= 2;
	index->head = calloc(size, sizeof(*index->head));
	index->next = calloc(rows + 1, sizeof(*index->next));
	index->mask = size - 1;
	return index->head && index->next ? 0 : -ENOMEM;
}

static void index_free(struct key_index *index)
{
	free(index->head);
	free(index->next);
}

/* Keys of every row: right keys are columns of the right table. */
static void right_keys(const struct join_plan *plan, const struct kql_table *right, size_t row,
		       struct value *keys)
{
	const struct value *cells = &right->cells[row * right->column_count];

	for (size_t k = 0; k < plan->key_count; k++)
		keys[k] = cells[plan->right_keys[k]];
}

struct join_run {
	const struct join_plan *plan;
	const struct stage *stage;
	const struct kql_table *left;
	const struct kql_table *right;
	struct value *left_keys; /* left row_count * key_count */
	struct value *row;	 /* one output row */
	struct kql_table *out;
};

static int emit(struct join_run *run, size_t left, size_t right)
{
	const struct join_plan *plan = run->plan;
	const struct relation *output = &run->stage->output;

	for (size_t i = 0; i < plan->left_count; i++)
		run->row[i] = left != NO_COLUMN
				      ? run->left->cells[left * run->left->column_count + i]
				      : empty_of(output->columns[i].type);
	for (size_t j = 0; j < plan->right_count; j++)
		run->row[plan->left_count + j] =
			right != NO_COLUMN ? run->right->cells[right * run->right->column_count + j]
					   : empty_of(output->columns[plan->left_count + j].type);
	return kql_table_append(run->out, run->row);
}

/* Is an earlier left row's key the same as row's (innerunique)? */
static bool seen_before(struct join_run *run, struct key_index *seen, size_t row)
{
	size_t count = run->plan->key_count;
	const struct value *keys = &run->left_keys[row * count];
	size_t bucket = keys_hash(keys, count) & seen->mask;

	for (size_t other = seen->head[bucket]; other; other = seen->next[other - 1]) {
		if (keys_equal(&run->left_keys[(other - 1) * count], keys, count))
			return true;
	}
	seen->next[row] = seen->head[bucket];
	seen->head[bucket] = row + 1;
	return false;
}

static int join_rows(struct join_run *run, struct key_index *index, bool *matched)
{
	const struct join_plan *plan = run->plan;
	size_t count = plan->key_count;
	struct value *keys = calloc(count + 1, sizeof(*keys));
	struct key_index unique = {0};
	struct key_index *seen = NULL; /* innerunique: the left keys seen */
	int status = keys ? 0 : -ENOMEM;

	if (status == 0 && plan->kind == JOIN_INNERUNIQUE) {
		status = index_init(&unique, run->left->row_count);
		seen = &unique;
	}
	for (size_t l = 0; status == 0 && l < run->left->row_count; l++) {
		const struct value *left_keys = &run->left_keys[l * count];
		bool any = false;

		if (seen && seen_before(run, seen, l))
			continue;
		if (!keys_null(left_keys, count)) {
			size_t bucket = keys_hash(left_keys, count) & index->mask;

			for (size_t r = index->head[bucket]; status == 0 && r; r = index->next[r - 1]) {
				right_keys(plan, run->right, r - 1, keys);
				if (!keys_equal(keys, left_keys, count))
					continue;
				any = true;
				matched[r - 1] = true;
				if (plan->kind != JOIN_LEFTSEMI && plan->kind != JOIN_LEFTANTI &&
				    plan->kind != JOIN_RIGHTSEMI && plan->kind != JOIN_RIGHTANTI)
					status = emit(run, l, r - 1);
			}
		}
		if (status < 0)
			break;
		if ((plan->kind == JOIN_LEFTSEMI && any) || (plan->kind == JOIN_LEFTANTI && !any) ||
		    (!any && (plan->kind == JOIN_LEFTOUTER || plan->kind == JOIN_FULLOUTER)))
			status = emit(run, l, NO_COLUMN);
	}
	free(keys);
	index_free(&unique);
	return status;
}

static int run_join(const struct stage *stage, const struct kql_table *left,
		    const struct exec_slots *slots, int64_t now, struct kql_table **out)
{
	const struct join_plan *plan = &stage->join;
	const struct kql_table *right = slots->tables ? slots->tables[plan->slot] : NULL;
	size_t count = plan->key_count;

	if (!right)
		return -EINVAL; /* the right side was not read (matching single rows) */
	struct join_run run = {plan, stage, left, right, NULL, NULL, NULL};
	struct key_index index = {0};
	struct scratch scratch = {0};
	struct eval_context context = {NULL, slots, &scratch, now, 0};
	bool *matched = calloc(right->row_count + 1, sizeof(*matched));
	struct value *keys = calloc(count + 1, sizeof(*keys));
	int status = index_init(&index, right->row_count);

	run.left_keys = calloc(left->row_count * count + 1, sizeof(*run.left_keys));
	run.row = calloc(stage->output.count + 1, sizeof(*run.row));
	run.out = kql_table_new(&stage->output);
	if (!matched || !keys || !run.left_keys || !run.row || !run.out)
		status = -ENOMEM;
	/* right rows into the index, last first, so each chain is in row order */
	for (size_t r = right->row_count; status == 0 && r-- > 0;) {
		right_keys(plan, right, r, keys);
		if (keys_null(keys, count))
			continue;
		size_t bucket = keys_hash(keys, count) & index.mask;

		index.next[r] = index.head[bucket];
		index.head[bucket] = r + 1;
	}
	for (size_t l = 0; status == 0 && l < left->row_count; l++) {
		context.row = &left->cells[l * left->column_count];
		for (size_t k = 0; k < count; k++)
			kql_eval_expr(plan->left_keys[k], &context, &run.left_keys[l * count + k]);
	}
	if (status == 0)
		status = join_rows(&run, &index, matched);
	for (size_t r = 0; status == 0 && r < right->row_count; r++) {
		bool wanted = (plan->kind == JOIN_RIGHTSEMI && matched[r]) ||
			      (!matched[r] && (plan->kind == JOIN_RIGHTANTI ||
					       plan->kind == JOIN_RIGHTOUTER ||
					       plan->kind == JOIN_FULLOUTER));

		if (wanted)
			status = emit(&run, NO_COLUMN, r);
	}
	index_free(&index);
	kql_scratch_free(&scratch);
	free(matched);
	free(keys);
	free(run.left_keys);
	free(run.row);
	if (status < 0) {
		kql_table_free(run.out);
		return status;
	}
	*out = run.out;
	return 0;
}

/* ---- union ------------------------------------------------------------------------ */

static int run_union(const struct stage *stage, const struct kql_table *input,
		     const struct exec_slots *slots, struct kql_table **out)
{
	const struct union_plan *plan = &stage->unite;
	const struct relation *output = &stage->output;
	struct value *row = calloc(output->count + 1, sizeof(*row));
	struct kql_table *result = kql_table_new(output);
	int status = row && result ? 0 : -ENOMEM;

	for (size_t p = 0; status == 0 && p < plan->part_count; p++) {
		const struct union_part *part = &plan->parts[p];
		const struct kql_table *table =
			part->slot < 0 ? input : (slots->tables ? slots->tables[part->slot] : NULL);

		if (!table) {
			status = -EINVAL;
			break;
		}
		for (size_t r = 0; status == 0 && r < table->row_count; r++) {
			const struct value *cells = &table->cells[r * table->column_count];

			for (size_t c = 0; c < output->count; c++)
				row[c] = part->columns[c] != NO_COLUMN ? cells[part->columns[c]]
								       : empty_of(output->columns[c].type);
			if (plan->source_column != NO_COLUMN)
				row[plan->source_column] =
					kql_value_string(part->name, strlen(part->name));
			status = kql_table_append(result, row);
		}
	}
	free(row);
	if (status < 0) {
		kql_table_free(result);
		return status;
	}
	*out = result;
	return 0;
}

/* ---- mv-expand ------------------------------------------------------------------ */

/* How many rows a value expands to: null one, an empty array or bag none. */
static size_t element_count(const struct value *value)
{
	if (value->is_null || json_is_null(value->dyn))
		return 1;
	if (json_is_array(value->dyn))
		return json_array_size(value->dyn);
	if (json_is_object(value->dyn))
		return json_object_size(value->dyn);
	return 1;
}

/* Element k of value: an array item, a bag entry ({key: value} or [key, value]), or itself. */
static json_t *element(const struct value *value, size_t k, bool bag_as_array,
		       struct scratch *scratch)
{
	if (value->is_null || json_is_null(value->dyn))
		return NULL;
	if (json_is_array(value->dyn))
		return json_array_get(value->dyn, k);
	if (!json_is_object(value->dyn))
		return value->dyn;
	void *iterator = json_object_iter(value->dyn);

	for (size_t i = 0; iterator && i < k; i++)
		iterator = json_object_iter_next(value->dyn, iterator);
	if (!iterator)
		return NULL;
	const char *key = json_object_iter_key(iterator);
	json_t *item = json_object_iter_value(iterator);
	json_t *entry = bag_as_array ? json_pack("[sO]", key, item) : json_pack("{sO}", key, item);

	if (entry && kql_scratch_keep(scratch, entry) < 0)
		entry = NULL;
	return entry;
}

static int run_expand(const struct stage *stage, const struct kql_table *input,
		      const struct exec_slots *slots, int64_t now, struct kql_table **out)
{
	const struct expand_plan *plan = &stage->expand;
	const struct relation *output = &stage->output;
	struct scratch scratch = {0};
	struct eval_context context = {NULL, slots, &scratch, now, 0};
	struct value *values = calloc(plan->count + 1, sizeof(*values));
	struct value *row = calloc(output->count + 1, sizeof(*row));
	struct kql_table *result = kql_table_new(output);
	int status = values && row && result ? 0 : -ENOMEM;

	for (size_t r = 0; status == 0 && r < input->row_count; r++) {
		const struct value *cells = &input->cells[r * input->column_count];
		size_t rows = 0;

		context.row = cells;
		for (size_t i = 0; i < plan->count; i++) {
			kql_eval_expr(plan->exprs[i], &context, &values[i]);
			if (element_count(&values[i]) > rows)
				rows = element_count(&values[i]);
		}
		if (plan->limit >= 0 && rows > (uint64_t)plan->limit)
			rows = (size_t)plan->limit;
		for (size_t k = 0; status == 0 && k < rows; k++) {
			memcpy(row, cells, input->column_count * sizeof(*row));
			for (size_t i = 0; i < plan->count; i++) {
				enum value_type type = output->columns[plan->columns[i]].type;
				json_t *item = k < element_count(&values[i])
						       ? element(&values[i], k, plan->bag_as_array, &scratch)
						       : NULL;
				struct value *cell = &row[plan->columns[i]];

				kql_value_from_json(item, type, cell);
				if (type == VALUE_STRING && cell->is_null)
					*cell = empty_of(VALUE_STRING);
			}
			if (plan->index_column != NO_COLUMN)
				row[plan->index_column] = kql_value_long((int64_t)k);
			status = kql_table_append(result, row);
		}
		kql_scratch_reset(&scratch);
		if (status == 0 && context.error < 0)
			status = context.error;
	}
	kql_scratch_free(&scratch);
	free(values);
	free(row);
	if (status < 0) {
		kql_table_free(result);
		return status;
	}
	*out = result;
	return 0;
}

int kql_table_stage_run(const struct stage *stage, const struct kql_table *input,
			const struct exec_slots *slots, int64_t now, struct kql_table **out)
{
	switch (stage->kind) {
	case STAGE_JOIN:
		return run_join(stage, input, slots, now, out);
	case STAGE_UNION:
		return run_union(stage, input, slots, out);
	case STAGE_EXPAND:
		return run_expand(stage, input, slots, now, out);
	default:
		return -EINVAL;
	}
}
