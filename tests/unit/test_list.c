/*
 * test_list.c - the intrusive doubly linked list (lib/base/list.h): order,
 * removal at every position, moving to the end, counts, walking while
 * removing, and an entry on two lists at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/list.h"

struct item {
	int value;
	struct list_node order; /* on one list */
	struct list_node other; /* on another, at the same time */
};

/* The values on list, first to last, into out; returns how many. */
static size_t walk(const struct list *list, int *out, size_t size)
{
	size_t count = 0;

	for (struct item *item = list_first(list); item && count < size;
	     item = list_next(&item->order))
		out[count++] = item->value;
	return count;
}

/* list holds exactly expected (count values), in order, both ways round. */
static void expect(const struct list *list, const int *expected, size_t count)
{
	int values[16];
	size_t position = count;

	assert_int_equal(walk(list, values, 16), count);
	assert_int_equal(list_count(list), count);
	assert_int_equal(list_is_empty(list), count == 0);
	for (size_t i = 0; i < count; i++)
		assert_int_equal(values[i], expected[i]);
	/* backwards through the previous pointers */
	for (const struct list_node *node = list->last; node; node = node->previous)
		assert_int_equal(((struct item *)node->entry)->value, expected[--position]);
	assert_int_equal(position, 0);
	if (count == 0) {
		assert_null(list_first(list));
		assert_null(list_last(list));
		assert_null(list->first);
		assert_null(list->last);
	}
}

static void fill(struct list *list, struct item *items, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		items[i].value = (int)i;
		list_append(list, &items[i].order, &items[i]);
	}
}

static void test_empty(void **state)
{
	(void)state;
	struct list list = {0};

	expect(&list, NULL, 0);
}

static void test_append_keeps_order(void **state)
{
	(void)state;
	struct list list = {0};
	struct item items[4];
	static const int all[] = {0, 1, 2, 3};

	fill(&list, items, 4);
	expect(&list, all, 4);
	assert_ptr_equal(list_first(&list), &items[0]);
	assert_ptr_equal(list_last(&list), &items[3]);
	assert_null(list_next(&items[3].order));
}

static void test_remove_first_middle_last(void **state)
{
	(void)state;
	struct list list = {0};
	struct item items[5];
	static const int without_first[] = {1, 2, 3, 4};
	static const int without_middle[] = {1, 3, 4};
	static const int without_last[] = {1, 3};

	fill(&list, items, 5);
	list_remove(&list, &items[0].order);
	expect(&list, without_first, 4);
	list_remove(&list, &items[2].order);
	expect(&list, without_middle, 3);
	list_remove(&list, &items[4].order);
	expect(&list, without_last, 2);
	assert_null(items[4].order.next);
	assert_null(items[4].order.previous);
	list_remove(&list, &items[1].order);
	list_remove(&list, &items[3].order);
	expect(&list, NULL, 0);
	/* a removed node can go back on */
	list_append(&list, &items[2].order, &items[2]);
	expect(&list, (const int[]){2}, 1);
}

static void test_take_first(void **state)
{
	(void)state;
	struct list list = {0};
	struct item items[3];
	static const int rest[] = {1, 2};

	assert_null(list_take_first(&list));
	fill(&list, items, 3);
	assert_ptr_equal(list_take_first(&list), &items[0]);
	assert_null(items[0].order.next);
	expect(&list, rest, 2);
	assert_ptr_equal(list_take_first(&list), &items[1]);
	assert_ptr_equal(list_take_first(&list), &items[2]);
	expect(&list, NULL, 0);
	assert_null(list_take_first(&list));
}

static void test_move_to_end(void **state)
{
	(void)state;
	struct list list = {0};
	struct item items[3];
	static const int first_moved[] = {1, 2, 0};
	static const int middle_moved[] = {1, 0, 2};

	fill(&list, items, 3);
	list_move_to_end(&list, &items[0].order);
	expect(&list, first_moved, 3);
	list_move_to_end(&list, &items[0].order); /* already last */
	expect(&list, first_moved, 3);
	list_move_to_end(&list, &items[2].order);
	expect(&list, middle_moved, 3);
}

static void test_remove_while_walking(void **state)
{
	(void)state;
	struct list list = {0};
	struct item items[6];
	static const int odd[] = {1, 3, 5};
	struct item *item, *next;

	fill(&list, items, 6);
	for (item = list_first(&list); item; item = next) {
		next = list_next(&item->order);
		if (item->value % 2 == 0)
			list_remove(&list, &item->order);
	}
	expect(&list, odd, 3);
}

static void test_two_lists_at_once(void **state)
{
	(void)state;
	struct list one = {0}, two = {0};
	struct item items[3];
	int values[3];
	size_t count = 0;

	fill(&one, items, 3);
	list_append(&two, &items[2].other, &items[2]);
	list_append(&two, &items[0].other, &items[0]);
	list_remove(&one, &items[0].order);
	for (struct item *item = list_first(&two); item; item = list_next(&item->other))
		values[count++] = item->value;
	assert_int_equal(count, 2);
	assert_int_equal(values[0], 2);
	assert_int_equal(values[1], 0);
	list_append(&one, &items[0].order, &items[0]);
	list_move_to_end(&one, &items[1].order);
	list_move_to_end(&one, &items[2].order);
	list_move_to_end(&one, &items[0].order);
	expect(&one, (const int[]){1, 2, 0}, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_append_keeps_order),
		cmocka_unit_test(test_remove_first_middle_last),
		cmocka_unit_test(test_take_first),
		cmocka_unit_test(test_move_to_end),
		cmocka_unit_test(test_remove_while_walking),
		cmocka_unit_test(test_two_lists_at_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
