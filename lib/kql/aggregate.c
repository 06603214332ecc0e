/*
 * aggregate.c - summarize: groups by key and the aggregates of each group.
 *
 * Every aggregate state is mergeable, and merging is exact: states remember
 * the sequence number (input order) of the rows that decided them, so a
 * table merged from partial states (incremental.c) equals the table computed
 * in one pass (exec.c) - same values, same row order, same make_set order.
 *
 *   count, countif   row counts
 *   dcount           the exact number of distinct values (not an estimate)
 *   min, max         nulls ignored; ties keep the earliest row
 *   sum              long: wrapping; real: exact, rounded once; empty: null
 *   avg              real; empty: null
 *   make_set         distinct values in first-seen order, the first `cap`
 *   make_list        values in input order, the first `cap`
 *   arg_max, arg_min the earliest row with the largest/smallest non-null value
 *   take_any         one argument: the first non-empty value (else the first);
 *                    several or *: the first row
 *
 * Groups come out in order of their first row.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kql/exactsum.h"
#include "kql/internal.h"

struct list_item {
	struct value value;
	uint64_t sequence;
};

struct aggregate_state {
	int64_t count;
	bool has_value;
	struct value value; /* min, max, arg_*, take_any (one argument) */
	uint64_t sequence;
	bool nonempty;
	struct value *extras; /* arg_*, take_any */
	uint64_t long_sum;
	struct exact_sum *real_sum;
	struct value_set set; /* dcount, make_set */
	struct list_item *list;
	size_t list_count;
	size_t list_capacity;
};

size_t kql_summarize_output_count(const struct summarize_plan *plan)
{
	size_t count = plan->key_count;

	for (size_t i = 0; i < plan->aggregate_count; i++)
		count += plan->aggregates[i].output_count;
	return count;
}

/* ---- one state --------------------------------------------------------------- */

static size_t state_bytes(const struct aggregate_def *def, const struct aggregate_state *state)
{
	size_t bytes = sizeof(*state) + state->set.bytes +
		       state->list_capacity * sizeof(struct list_item);

	if (state->real_sum)
		bytes += sizeof(*state->real_sum);
	if (state->has_value)
		bytes += kql_value_owned_bytes(&state->value);
	for (size_t i = 0; state->extras && i < def->extra_count; i++)
		bytes += kql_value_owned_bytes(&state->extras[i]);
	for (size_t i = 0; i < state->list_count; i++)
		bytes += kql_value_owned_bytes(&state->list[i].value) - sizeof(struct value);
	return bytes;
}

static void state_free(const struct aggregate_def *def, struct aggregate_state *state)
{
	if (!state)
		return;
	if (state->has_value)
		kql_value_release(&state->value);
	if (state->extras) {
		for (size_t i = 0; i < def->extra_count; i++)
			kql_value_release(&state->extras[i]);
		free(state->extras);
	}
	free(state->real_sum);
	kql_value_set_free(&state->set);
	for (size_t i = 0; i < state->list_count; i++)
		kql_value_release(&state->list[i].value);
	free(state->list);
	free(state);
}

/* Replaces the chosen value (and extras) of state by copies. */
static int choose(const struct aggregate_def *def, struct aggregate_state *state,
		  const struct value *value, const struct value *extras, uint64_t sequence)
{
	struct value copy;

	if (value && kql_value_copy_owned(&copy, value) < 0)
		return -ENOMEM;
	if (def->extra_count) {
		struct value *fresh = calloc(def->extra_count, sizeof(*fresh));

		if (!fresh) {
			if (value)
				kql_value_release(&copy);
			return -ENOMEM;
		}
		for (size_t i = 0; i < def->extra_count; i++) {
			if (kql_value_copy_owned(&fresh[i], &extras[i]) < 0) {
				while (i-- > 0)
					kql_value_release(&fresh[i]);
				free(fresh);
				if (value)
					kql_value_release(&copy);
				return -ENOMEM;
			}
		}
		if (state->extras) {
			for (size_t i = 0; i < def->extra_count; i++)
				kql_value_release(&state->extras[i]);
			free(state->extras);
		}
		state->extras = fresh;
	}
	if (value) {
		if (state->has_value)
			kql_value_release(&state->value);
		state->value = copy;
	}
	state->has_value = true;
	state->sequence = sequence;
	return 0;
}

/* Should a candidate (value, sequence) replace the state's choice? */
static bool better(const struct aggregate_def *def, const struct aggregate_state *state,
		   const struct value *value, uint64_t sequence)
{
	if (!state->has_value)
		return true;
	int order = kql_value_compare(value, &state->value);

	if (def->kind == AGG_MIN || def->kind == AGG_ARG_MIN)
		order = -order;
	return order > 0 || (order == 0 && sequence < state->sequence);
}

static int list_push(struct aggregate_state *state, const struct value *value, uint64_t sequence)
{
	struct list_item *list = array_reserve(state->list, &state->list_capacity,
					       state->list_count + 1, 4, sizeof(*list));

	if (!list)
		return -ENOMEM;
	state->list = list;
	if (kql_value_copy_owned(&state->list[state->list_count].value, value) < 0)
		return -ENOMEM;
	state->list[state->list_count++].sequence = sequence;
	return 0;
}

static bool is_empty_value(const struct value *value)
{
	return value->is_null || (value->type == VALUE_STRING && value->len == 0);
}

static int state_add_values(const struct aggregate_def *def, struct aggregate_state *state,
			    const struct value *extras, uint64_t sequence, struct value value);

static int state_add(const struct aggregate_def *def, struct aggregate_state *state,
		     struct eval_context *context, uint64_t sequence)
{
	struct value value = kql_value_null(VALUE_LONG);
	struct value small[16];
	struct value *extras = def->extra_count <= 16 ? small : calloc(def->extra_count, sizeof(*extras));

	if (!extras)
		return -ENOMEM;
	if (def->arg)
		kql_eval_expr(def->arg, context, &value);
	for (size_t i = 0; i < def->extra_count; i++)
		kql_eval_expr(def->extra[i], context, &extras[i]);
	int status = state_add_values(def, state, extras, sequence, value);

	if (extras != small)
		free(extras);
	return status;
}

static int state_add_values(const struct aggregate_def *def, struct aggregate_state *state,
			    const struct value *extras, uint64_t sequence, struct value value)
{
	bool inserted;

	switch (def->kind) {
	case AGG_COUNT:
		state->count++;
		return 0;
	case AGG_COUNTIF:
		state->count += !value.is_null && value.b;
		return 0;
	case AGG_DCOUNT:
		if (value.is_null)
			return 0;
		return kql_value_set_insert(&state->set, &value, sequence, &inserted);
	case AGG_MIN:
	case AGG_MAX:
	case AGG_ARG_MAX:
	case AGG_ARG_MIN:
		if (value.is_null || !better(def, state, &value, sequence))
			return 0;
		return choose(def, state, &value, extras, sequence);
	case AGG_SUM:
	case AGG_AVG:
		if (value.is_null)
			return 0;
		state->count++;
		state->has_value = true;
		if (value.type == VALUE_REAL) {
			if (!state->real_sum && !(state->real_sum = calloc(1, sizeof(*state->real_sum))))
				return -ENOMEM;
			kql_exact_sum_add(state->real_sum, value.r);
		} else {
			state->long_sum += (uint64_t)(value.type == VALUE_LONG ? value.l : value.ticks);
			if (def->kind == AGG_AVG) {
				/* avg of longs: keep it exact as a real sum too */
				if (!state->real_sum &&
				    !(state->real_sum = calloc(1, sizeof(*state->real_sum))))
					return -ENOMEM;
				kql_exact_sum_add(state->real_sum, (double)(value.l >> 32) * 4294967296.0);
				kql_exact_sum_add(state->real_sum, (double)(value.l & 0xffffffffLL));
			}
		}
		return 0;
	case AGG_MAKE_SET:
		if (value.is_null || (value.type == VALUE_DYNAMIC && json_is_null(value.dyn)))
			return 0;
		if ((int64_t)state->set.count >= def->cap && kql_value_set_find(&state->set, &value) < 0)
			return 0;
		return kql_value_set_insert(&state->set, &value, sequence, &inserted);
	case AGG_MAKE_LIST:
		if (value.is_null || (int64_t)state->list_count >= def->cap)
			return 0;
		return list_push(state, &value, sequence);
	case AGG_TAKE_ANY: {
		bool nonempty = def->extra_count == 1 && !is_empty_value(&extras[0]);

		if (state->has_value && (def->extra_count != 1 || state->nonempty || !nonempty))
			return 0;
		state->nonempty = nonempty;
		return choose(def, state, NULL, extras, sequence);
	}
	}
	return 0;
}

static int compare_items(const void *a, const void *b)
{
	const struct list_item *x = a, *y = b;

	return (x->sequence > y->sequence) - (x->sequence < y->sequence);
}

/* Keeps the cap earliest elements of a merged set. */
static int set_truncate(struct value_set *set, int64_t cap)
{
	if ((int64_t)set->count <= cap)
		return 0;
	struct list_item *items = malloc(set->count * sizeof(*items));
	struct value_set kept = {0};
	bool inserted;
	int status = 0;

	if (!items)
		return -ENOMEM;
	for (size_t i = 0; i < set->count; i++)
		items[i] = (struct list_item){set->values[i], set->sequences[i]};
	qsort(items, set->count, sizeof(*items), compare_items);
	for (int64_t i = 0; i < cap && status == 0; i++)
		status = kql_value_set_insert(&kept, &items[i].value, items[i].sequence, &inserted);
	free(items);
	if (status < 0) {
		kql_value_set_free(&kept);
		return status;
	}
	kql_value_set_free(set);
	*set = kept;
	return 0;
}

static int state_merge(const struct aggregate_def *def, struct aggregate_state *into,
		       const struct aggregate_state *from)
{
	bool inserted;

	switch (def->kind) {
	case AGG_COUNT:
	case AGG_COUNTIF:
		into->count += from->count;
		return 0;
	case AGG_DCOUNT:
	case AGG_MAKE_SET:
		for (size_t i = 0; i < from->set.count; i++) {
			int status = kql_value_set_insert(&into->set, &from->set.values[i],
						      from->set.sequences[i], &inserted);

			if (status < 0)
				return status;
		}
		return def->kind == AGG_MAKE_SET ? set_truncate(&into->set, def->cap) : 0;
	case AGG_MIN:
	case AGG_MAX:
	case AGG_ARG_MAX:
	case AGG_ARG_MIN:
		if (!from->has_value || !better(def, into, &from->value, from->sequence))
			return 0;
		return choose(def, into, &from->value, from->extras, from->sequence);
	case AGG_SUM:
	case AGG_AVG:
		if (!from->has_value)
			return 0;
		into->has_value = true;
		into->count += from->count;
		into->long_sum += from->long_sum;
		if (from->real_sum) {
			if (!into->real_sum && !(into->real_sum = calloc(1, sizeof(*into->real_sum))))
				return -ENOMEM;
			kql_exact_sum_merge(into->real_sum, from->real_sum);
		}
		return 0;
	case AGG_MAKE_LIST:
		for (size_t i = 0; i < from->list_count; i++) {
			if (list_push(into, &from->list[i].value, from->list[i].sequence) < 0)
				return -ENOMEM;
		}
		if (into->list_count > 1)
			qsort(into->list, into->list_count, sizeof(*into->list), compare_items);
		while ((int64_t)into->list_count > def->cap)
			kql_value_release(&into->list[--into->list_count].value);
		return 0;
	case AGG_TAKE_ANY:
		if (!from->has_value)
			return 0;
		if (into->has_value) {
			bool from_wins = def->extra_count == 1 && from->nonempty != into->nonempty
						 ? from->nonempty
						 : from->sequence < into->sequence;

			if (!from_wins)
				return 0;
		}
		into->nonempty = from->nonempty;
		return choose(def, into, NULL, from->extras, from->sequence);
	}
	return 0;
}

static int compare_set_order(const void *a, const void *b)
{
	return compare_items(a, b);
}

/* make_set / make_list output: a JSON array in first-seen order. */
static json_t *array_of(const struct aggregate_def *def, const struct aggregate_state *state)
{
	json_t *array = json_array();
	size_t count = def->kind == AGG_MAKE_SET ? state->set.count : state->list_count;
	struct list_item *items = count ? malloc(count * sizeof(*items)) : NULL;

	if (!array || (count && !items)) {
		json_decref(array);
		free(items);
		return NULL;
	}
	for (size_t i = 0; i < count; i++)
		items[i] = def->kind == AGG_MAKE_SET
				   ? (struct list_item){state->set.values[i], state->set.sequences[i]}
				   : state->list[i];
	if (def->kind == AGG_MAKE_SET && count > 1)
		qsort(items, count, sizeof(*items), compare_set_order);
	for (size_t i = 0; i < count; i++) {
		if (json_array_append_new(array, kql_value_to_json(&items[i].value)) < 0) {
			json_decref(array);
			array = NULL;
			break;
		}
	}
	free(items);
	return array;
}

/* Writes the output columns of one aggregate. */
static int state_output(const struct aggregate_def *def, const struct aggregate_state *state,
			enum value_type type, struct scratch *scratch, struct value *out)
{
	switch (def->kind) {
	case AGG_COUNT:
	case AGG_COUNTIF:
		out[0] = kql_value_long(state->count);
		return 0;
	case AGG_DCOUNT:
		out[0] = kql_value_long((int64_t)state->set.count);
		return 0;
	case AGG_SUM:
		out[0] = kql_value_null(type);
		if (!state->has_value)
			return 0;
		out[0].is_null = false;
		if (type == VALUE_REAL)
			out[0].r = kql_exact_sum_value(state->real_sum);
		else if (type == VALUE_LONG)
			out[0].l = (int64_t)state->long_sum;
		else
			out[0].ticks = (int64_t)state->long_sum;
		return 0;
	case AGG_AVG:
		out[0] = kql_value_null(VALUE_REAL);
		if (state->count == 0)
			return 0;
		out[0].is_null = false;
		out[0].r = kql_exact_sum_value(state->real_sum) / (double)state->count;
		return 0;
	case AGG_MAKE_SET:
	case AGG_MAKE_LIST: {
		json_t *array = array_of(def, state);

		if (!array || kql_scratch_keep(scratch, array) < 0)
			return -ENOMEM;
		out[0] = kql_value_null(VALUE_DYNAMIC);
		out[0].is_null = false;
		out[0].dyn = array;
		return 0;
	}
	case AGG_MIN:
	case AGG_MAX:
		out[0] = state->has_value ? state->value : kql_value_null(type);
		return 0;
	case AGG_ARG_MAX:
	case AGG_ARG_MIN:
	case AGG_TAKE_ANY: {
		size_t first = 0;

		if (def->kind != AGG_TAKE_ANY) {
			out[0] = state->has_value ? state->value : kql_value_null(type);
			first = 1;
		}
		for (size_t i = 0; i < def->extra_count; i++)
			out[first + i] = state->extras ? state->extras[i]
						       : kql_value_null(def->extra[i]->type);
		return 0;
	}
	}
	return 0;
}

/* ---- groups -------------------------------------------------------------------- */

int kql_group_table_init(struct group_table *table, const struct summarize_plan *plan,
		     size_t key_count, bool keyed_by_time, bool unique)
{
	memset(table, 0, sizeof(*table));
	table->plan = plan;
	table->key_count = key_count;
	table->keyed_by_time = keyed_by_time;
	table->unique = unique;
	table->bucket_count = 64;
	table->buckets = calloc(table->bucket_count, sizeof(*table->buckets));
	return table->buckets ? 0 : -ENOMEM;
}

static uint64_t keys_hash(const struct group_table *table, const struct value *keys, int64_t time)
{
	uint64_t hash = table->keyed_by_time ? (uint64_t)time * 0x9e3779b97f4a7c15ULL : 0;

	for (size_t i = 0; i < table->key_count; i++)
		hash = (hash * 31) ^ kql_value_hash(&keys[i]);
	return hash;
}

static bool keys_equal(const struct group_table *table, const struct group *group,
		       const struct value *keys, int64_t time)
{
	if (table->keyed_by_time && group->time != time)
		return false;
	for (size_t i = 0; i < table->key_count; i++) {
		if (!kql_value_equal(&group->keys[i], &keys[i]))
			return false;
	}
	return true;
}

static int rehash(struct group_table *table)
{
	size_t count = table->bucket_count * 2;
	struct group **buckets = calloc(count, sizeof(*buckets));

	if (!buckets)
		return -ENOMEM;
	for (size_t i = 0; i < table->bucket_count; i++) {
		struct group *group = table->buckets[i];

		while (group) {
			struct group *next = group->next;
			size_t slot = group->hash & (count - 1);

			group->next = buckets[slot];
			buckets[slot] = group;
			group = next;
		}
	}
	free(table->buckets);
	table->buckets = buckets;
	table->bucket_count = count;
	return 0;
}

static size_t group_bytes(const struct group_table *table, const struct group *group)
{
	size_t bytes = sizeof(*group) + table->plan->aggregate_count * sizeof(void *);

	for (size_t i = 0; i < table->key_count; i++)
		bytes += kql_value_owned_bytes(&group->keys[i]);
	for (size_t i = 0; i < table->plan->aggregate_count; i++)
		bytes += state_bytes(&table->plan->aggregates[i], group->states[i]);
	return bytes;
}

static void account(struct group_table *table, struct group *group)
{
	size_t bytes = group_bytes(table, group);

	table->bytes += bytes - group->bytes;
	group->bytes = bytes;
}

void kql_group_free(const struct group_table *table, struct group *group)
{
	if (!group)
		return;
	for (size_t i = 0; group->keys && i < table->key_count; i++)
		kql_value_release(&group->keys[i]);
	free(group->keys);
	for (size_t i = 0; group->states && i < table->plan->aggregate_count; i++)
		state_free(&table->plan->aggregates[i], group->states[i]);
	free(group->states);
	free(group);
}

static struct group *group_new(const struct group_table *table, const struct value *keys,
			       int64_t time, uint64_t hash, uint64_t sequence)
{
	struct group *group = calloc(1, sizeof(*group));
	size_t aggregates = table->plan->aggregate_count;

	if (!group)
		return NULL;
	group->hash = hash;
	group->time = time;
	group->first_sequence = sequence;
	group->keys = calloc(table->key_count ? table->key_count : 1, sizeof(*group->keys));
	group->states = calloc(aggregates ? aggregates : 1, sizeof(*group->states));
	if (!group->keys || !group->states) {
		kql_group_free(table, group);
		return NULL;
	}
	for (size_t i = 0; i < table->key_count; i++) {
		if (kql_value_copy_owned(&group->keys[i], &keys[i]) < 0) {
			while (i-- > 0)
				kql_value_release(&group->keys[i]);
			free(group->keys);
			group->keys = NULL;
			kql_group_free(table, group);
			return NULL;
		}
	}
	for (size_t i = 0; i < aggregates; i++) {
		group->states[i] = calloc(1, sizeof(struct aggregate_state));
		if (!group->states[i]) {
			kql_group_free(table, group);
			return NULL;
		}
	}
	return group;
}

int kql_group_table_get(struct group_table *table, const struct value *keys, int64_t time,
		    uint64_t sequence, struct group **found)
{
	uint64_t hash = table->unique ? sequence * 0x9e3779b97f4a7c15ULL : keys_hash(table, keys, time);
	size_t slot = hash & (table->bucket_count - 1);

	if (!table->unique) {
		for (struct group *group = table->buckets[slot]; group; group = group->next) {
			if (group->hash == hash && keys_equal(table, group, keys, time)) {
				*found = group;
				return 0;
			}
		}
	}
	if (table->count >= table->bucket_count && rehash(table) < 0)
		return -ENOMEM;
	struct group *group = group_new(table, keys, time, hash, sequence);

	if (!group)
		return -ENOMEM;
	slot = hash & (table->bucket_count - 1);
	group->next = table->buckets[slot];
	table->buckets[slot] = group;
	table->count++;
	account(table, group);
	*found = group;
	return 0;
}

int kql_group_add_row(struct group_table *table, struct group *group, struct eval_context *context,
		  uint64_t sequence)
{
	for (size_t i = 0; i < table->plan->aggregate_count; i++) {
		int status = state_add(&table->plan->aggregates[i], group->states[i], context, sequence);

		if (status < 0)
			return status;
	}
	group->rows++;
	if (table->plan->aggregate_count)
		account(table, group);
	return context->error;
}

int kql_group_merge(struct group_table *table, struct group *into, const struct group *from)
{
	for (size_t i = 0; i < table->plan->aggregate_count; i++) {
		int status = state_merge(&table->plan->aggregates[i], into->states[i], from->states[i]);

		if (status < 0)
			return status;
	}
	into->rows += from->rows;
	if (from->first_sequence < into->first_sequence)
		into->first_sequence = from->first_sequence;
	account(table, into);
	return 0;
}

int kql_group_output(const struct group_table *table, const struct group *group,
		 struct scratch *scratch, struct value *row, const struct relation *output)
{
	size_t column = table->key_count;

	for (size_t i = 0; i < table->key_count; i++)
		row[i] = group->keys[i];
	for (size_t i = 0; i < table->plan->aggregate_count; i++) {
		const struct aggregate_def *def = &table->plan->aggregates[i];
		int status = state_output(def, group->states[i], output->columns[column].type, scratch,
					  &row[column]);

		if (status < 0)
			return status;
		column += def->output_count;
	}
	return 0;
}

void kql_group_table_remove(struct group_table *table, struct group *group)
{
	size_t slot = group->hash & (table->bucket_count - 1);
	struct group **link = &table->buckets[slot];

	while (*link && *link != group)
		link = &(*link)->next;
	if (*link) {
		*link = group->next;
		table->count--;
		table->bytes -= group->bytes;
	}
	kql_group_free(table, group);
}

static int compare_groups(const void *a, const void *b)
{
	const struct group *x = *(struct group *const *)a, *y = *(struct group *const *)b;

	return (x->first_sequence > y->first_sequence) - (x->first_sequence < y->first_sequence);
}

int kql_group_table_list(const struct group_table *table, struct group ***groups, size_t *count)
{
	struct group **list = malloc((table->count ? table->count : 1) * sizeof(*list));
	size_t used = 0;

	if (!list)
		return -ENOMEM;
	for (size_t i = 0; i < table->bucket_count; i++) {
		for (struct group *group = table->buckets[i]; group; group = group->next)
			list[used++] = group;
	}
	qsort(list, used, sizeof(*list), compare_groups);
	*groups = list;
	*count = used;
	return 0;
}

void kql_group_table_free(struct group_table *table)
{
	for (size_t i = 0; table->buckets && i < table->bucket_count; i++) {
		struct group *group = table->buckets[i];

		while (group) {
			struct group *next = group->next;

			kql_group_free(table, group);
			group = next;
		}
	}
	free(table->buckets);
	memset(table, 0, sizeof(*table));
}
