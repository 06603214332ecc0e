/*
 * valueset.c - sets of values: the distinct values of make_set, dcount and
 * distinct, and the constant lists of in, in~, has_any and has_all.
 *
 * A value_set keeps owned copies in insertion order with the sequence number
 * of each value's first insertion (make_set needs it to stay exact when
 * partial sets are merged) and an open-addressing index over them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/unicode.h"
#include "kql/internal.h"

static int index_rebuild(struct value_set *set, size_t size)
{
	uint32_t *index = calloc(size, sizeof(*index));

	if (!index)
		return -ENOMEM;
	for (size_t i = 0; i < set->count; i++) {
		size_t slot = kql_value_hash(&set->values[i]) & (size - 1);

		while (index[slot])
			slot = (slot + 1) & (size - 1);
		index[slot] = (uint32_t)(i + 1);
	}
	set->bytes += (size - set->index_size) * sizeof(*index);
	free(set->index);
	set->index = index;
	set->index_size = size;
	return 0;
}

long kql_value_set_find(const struct value_set *set, const struct value *value)
{
	if (!set->index_size)
		return -1;
	size_t slot = kql_value_hash(value) & (set->index_size - 1);

	while (set->index[slot]) {
		size_t position = set->index[slot] - 1;

		if (kql_value_equal(&set->values[position], value))
			return (long)position;
		slot = (slot + 1) & (set->index_size - 1);
	}
	return -1;
}

int kql_value_set_insert(struct value_set *set, const struct value *value, uint64_t sequence,
		     bool *inserted)
{
	long found = kql_value_set_find(set, value);

	*inserted = false;
	if (found >= 0) {
		if (sequence < set->sequences[found])
			set->sequences[found] = sequence;
		return 0;
	}
	if (set->count >= UINT32_MAX - 1)
		return -E2BIG;
	if (set->count == set->capacity) {
		/* values are the larger items: the byte size of neither array overflows */
		size_t capacity = array_grown_capacity(set->capacity, set->count + 1, 4,
						       sizeof(*set->values));
		struct value *values = capacity ? realloc(set->values, capacity * sizeof(*values))
						: NULL;

		if (!values)
			return -ENOMEM;
		set->values = values;
		uint64_t *sequences = realloc(set->sequences, capacity * sizeof(*sequences));

		if (!sequences)
			return -ENOMEM;
		set->sequences = sequences;
		set->bytes += (capacity - set->capacity) * (sizeof(*values) + sizeof(*sequences));
		set->capacity = capacity;
	}
	if ((set->count + 1) * 2 > set->index_size) {
		int status = index_rebuild(set, set->index_size ? 2 * set->index_size : 8);

		if (status < 0)
			return status;
	}
	int status = kql_value_copy_owned(&set->values[set->count], value);

	if (status < 0)
		return status;
	set->sequences[set->count] = sequence;
	set->bytes += kql_value_owned_bytes(value) - sizeof(*value);
	size_t slot = kql_value_hash(value) & (set->index_size - 1);

	while (set->index[slot])
		slot = (slot + 1) & (set->index_size - 1);
	set->index[slot] = (uint32_t)(set->count + 1);
	set->count++;
	*inserted = true;
	return 0;
}

void kql_value_set_free(struct value_set *set)
{
	for (size_t i = 0; i < set->count; i++)
		kql_value_release(&set->values[i]);
	free(set->values);
	free(set->sequences);
	free(set->index);
	memset(set, 0, sizeof(*set));
}

/* ---- match sets ------------------------------------------------------------ */

static int add_needle(struct match_set *set, const char *text, size_t length)
{
	if (set->needle_count == set->needle_capacity) {
		/* needles are the larger items: the byte size of neither array overflows */
		size_t capacity = array_grown_capacity(set->needle_capacity, set->needle_count + 1,
						       8, sizeof(*set->needles));
		struct kql_needle *needles =
			capacity ? realloc(set->needles, capacity * sizeof(*needles)) : NULL;

		if (!needles)
			return -ENOMEM;
		set->needles = needles;
		char **texts = realloc(set->needle_texts, capacity * sizeof(*texts));

		if (!texts)
			return -ENOMEM;
		set->needle_texts = texts;
		set->needle_capacity = capacity;
	}
	char *folded = malloc(KQL_NEEDLE_FOLDED_SIZE(length));

	if (!folded)
		return -ENOMEM;
	set->needle_texts[set->needle_count] = folded;
	kql_needle_init(&set->needles[set->needle_count], KQL_MATCH_HAS, false, text, length,
			folded);
	set->needle_count++;
	return 0;
}

/* The case-folded copy of a string for in~ (Unicode simple case folding). */
static int add_folded(struct match_set *set, const struct value *value)
{
	char *folded = malloc(KQL_NEEDLE_FOLDED_SIZE(value->len));
	bool inserted;

	if (!folded)
		return -ENOMEM;
	size_t length = unicode_fold_text(value->str, value->len, folded);
	struct value copy = kql_value_string(folded, length);
	int status = kql_value_set_insert(&set->values, &copy, 0, &inserted);

	free(folded);
	return status;
}

int kql_match_set_add(struct match_set *set, const struct value *value)
{
	bool inserted;

	switch (set->op) {
	case SET_HAS_ANY:
	case SET_HAS_ALL:
		return add_needle(set, value->str, value->len);
	case SET_IN_CI:
	case SET_NOT_IN_CI:
		if (value->type == VALUE_STRING)
			return add_folded(set, value);
		break;
	default:
		break;
	}
	if (value->is_null) {
		set->has_null = true;
		return 0;
	}
	return kql_value_set_insert(&set->values, value, 0, &inserted);
}

/* Is the folded form of text in the set?  Folds into a small buffer. */
static bool contains_folded(const struct match_set *set, const struct value *value)
{
	char small[256];
	char *folded = KQL_NEEDLE_FOLDED_SIZE(value->len) <= sizeof(small)
			       ? small
			       : malloc(KQL_NEEDLE_FOLDED_SIZE(value->len));

	if (!folded)
		return false;
	size_t length = unicode_fold_text(value->str, value->len, folded);
	struct value key = kql_value_string(folded, length);
	bool found = kql_value_set_find(&set->values, &key) >= 0;

	if (folded != small)
		free(folded);
	return found;
}

bool kql_match_set_test(const struct match_set *set, const struct value *value)
{
	switch (set->op) {
	case SET_HAS_ANY:
		for (size_t i = 0; i < set->needle_count; i++) {
			if (kql_needle_match(&set->needles[i], value->str, value->len))
				return true;
		}
		return false;
	case SET_HAS_ALL:
		for (size_t i = 0; i < set->needle_count; i++) {
			if (!kql_needle_match(&set->needles[i], value->str, value->len))
				return false;
		}
		return true;
	case SET_IN_CI:
	case SET_NOT_IN_CI:
		if (value->type == VALUE_STRING)
			return contains_folded(set, value);
		return kql_value_set_find(&set->values, value) >= 0;
	case SET_IN:
	case SET_NOT_IN:
		return kql_value_set_find(&set->values, value) >= 0;
	}
	return false;
}

void kql_match_set_free(struct match_set *set)
{
	for (size_t i = 0; i < set->needle_count; i++)
		free(set->needle_texts[i]);
	free(set->needle_texts);
	free(set->needles);
	kql_value_set_free(&set->values);
	memset(set, 0, sizeof(*set));
}

/* Converts value to the set's element type; false when it cannot match. */
static bool convert_element(const struct match_set *set, const struct value *value,
			    struct scratch *scratch, struct value *out)
{
	if (set->op == SET_HAS_ANY || set->op == SET_HAS_ALL || set->type == VALUE_STRING)
		return kql_value_to_string(value, scratch, out) == 0;
	if (value->type == set->type || value->is_null) {
		*out = *value;
		out->type = set->type;
		return true;
	}
	if (set->type == VALUE_REAL) {
		kql_value_to_real(value, out);
		return !out->is_null;
	}
	if (set->type == VALUE_LONG) {
		struct value real;

		kql_value_to_real(value, &real);
		kql_value_to_long(value, out);
		/* 1.5 can never equal a long */
		return !out->is_null && !real.is_null && (double)out->l == real.r;
	}
	switch (set->type) {
	case VALUE_BOOL:
		kql_value_to_bool(value, out);
		break;
	case VALUE_DATETIME:
		kql_value_to_datetime(value, out);
		break;
	case VALUE_TIMESPAN:
		kql_value_to_timespan(value, out);
		break;
	default:
		*out = *value;
		break;
	}
	return !out->is_null;
}

int kql_match_set_add_converted(struct match_set *set, const struct value *value,
			    struct scratch *scratch)
{
	struct value element;

	if (value->type == VALUE_DYNAMIC && !value->is_null && json_is_array(value->dyn)) {
		size_t index;
		json_t *item;

		json_array_foreach(value->dyn, index, item) {
			struct value inner;

			kql_value_from_json(item, VALUE_DYNAMIC, &inner);
			int status = kql_match_set_add_converted(set, &inner, scratch);

			if (status < 0)
				return status;
		}
		return 0;
	}
	if (!convert_element(set, value, scratch, &element))
		return 0;
	return kql_match_set_add(set, &element);
}
