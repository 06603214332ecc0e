/*
 * test_array.c - growing arrays (lib/base/array.h): doubling from the first
 * capacity, jumps past it, no move when there is room, the overflow cases
 * (count * size past SIZE_MAX gives NULL and leaves the array alone), and
 * arena arrays (items copied, the budget honoured).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/array.h"

static void test_capacity_doubles_from_first(void **state)
{
	(void)state;
	assert_int_equal(array_grown_capacity(0, 1, 8, 4), 8);
	assert_int_equal(array_grown_capacity(8, 9, 8, 4), 16);
	assert_int_equal(array_grown_capacity(16, 17, 8, 4), 32);
	/* a jump: doubled until it fits */
	assert_int_equal(array_grown_capacity(0, 100, 8, 4), 128);
	assert_int_equal(array_grown_capacity(4, 5, 64, 4), 8);
	/* a first capacity of 0 still grows */
	assert_int_equal(array_grown_capacity(0, 1, 0, 4), 1);
}

static void test_capacity_overflow(void **state)
{
	(void)state;
	size_t limit = SIZE_MAX / 16;

	/* needed items of 16 bytes cannot fit in a size_t of bytes */
	assert_int_equal(array_grown_capacity(0, limit + 1, 8, 16), 0);
	assert_int_equal(array_grown_capacity(limit, limit + 1, 8, 16), 0);
	/* doubling past the limit stops at the limit when that is enough */
	assert_int_equal(array_grown_capacity(limit / 2 + 1, limit / 2 + 2, 8, 16), limit);
	assert_int_equal(array_grown_capacity(0, limit, 8, 16), limit);
	/* a first capacity too large is cut to the limit */
	assert_int_equal(array_grown_capacity(0, 1, SIZE_MAX, 16), limit);
	/* the byte count of what it returns never wraps */
	size_t grown = array_grown_capacity(3, limit - 1, 3, 16);

	assert_true(grown >= limit - 1 && grown <= limit);
}

static void test_reserve_grows_and_keeps_items(void **state)
{
	(void)state;
	size_t capacity = 0;
	int *items = NULL;

	for (int i = 0; i < 1000; i++) {
		int *grown = array_reserve(items, &capacity, (size_t)i + 1, 8, sizeof(*items));

		assert_non_null(grown);
		assert_true(capacity >= (size_t)i + 1);
		items = grown;
		items[i] = i;
	}
	assert_int_equal(capacity, 1024);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(items[i], i);
	/* room already: the same array, the same capacity */
	assert_ptr_equal(array_reserve(items, &capacity, 1000, 8, sizeof(*items)), items);
	assert_int_equal(capacity, 1024);
	free(items);
}

static void test_reserve_overflow_leaves_the_array(void **state)
{
	(void)state;
	size_t capacity = 0;
	uint64_t *items = array_reserve(NULL, &capacity, 4, 4, sizeof(*items));

	assert_non_null(items);
	items[3] = 42;
	/* count * size past SIZE_MAX: refused, nothing moved or freed */
	assert_null(array_reserve(items, &capacity, SIZE_MAX / sizeof(*items) + 1, 4,
				  sizeof(*items)));
	assert_int_equal(capacity, 4);
	assert_int_equal(items[3], 42);
	/* SIZE_MAX items of 2 bytes: the same */
	assert_null(array_reserve(items, &capacity, SIZE_MAX, 4, 2));
	assert_int_equal(capacity, 4);
	free(items);
}

static void test_arena_reserve_copies(void **state)
{
	(void)state;
	struct arena arena;
	size_t capacity = 0, count = 0;
	uint32_t *items = NULL;

	arena_init(&arena, 0);
	for (uint32_t i = 0; i < 300; i++) {
		uint32_t *grown = arena_array_reserve(&arena, items, count, &capacity, count + 1,
						      4, sizeof(*items));

		assert_non_null(grown);
		items = grown;
		items[count++] = i * 3;
	}
	assert_int_equal(capacity, 512);
	for (uint32_t i = 0; i < 300; i++)
		assert_int_equal(items[i], i * 3);
	assert_ptr_equal(arena_array_reserve(&arena, items, count, &capacity, 300, 4,
					     sizeof(*items)),
			 items);
	assert_null(arena_array_reserve(&arena, items, count, &capacity,
					SIZE_MAX / sizeof(*items) + 1, 4, sizeof(*items)));
	assert_int_equal(capacity, 512);
	arena_release(&arena);
}

static void test_arena_budget(void **state)
{
	(void)state;
	struct arena arena;
	size_t capacity = 0;
	char *items;

	arena_init(&arena, 256);
	items = arena_array_reserve(&arena, NULL, 0, &capacity, 1, 64, 1);
	assert_non_null(items);
	memset(items, 'x', 64);
	/* 128 more bytes fit the budget; then 256 more do not */
	items = arena_array_reserve(&arena, items, 64, &capacity, 65, 64, 1);
	assert_non_null(items);
	assert_int_equal(capacity, 128);
	assert_int_equal(items[63], 'x');
	assert_null(arena_array_reserve(&arena, items, 128, &capacity, 129, 64, 1));
	assert_int_equal(capacity, 128);
	arena_release(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capacity_doubles_from_first),
		cmocka_unit_test(test_capacity_overflow),
		cmocka_unit_test(test_reserve_grows_and_keeps_items),
		cmocka_unit_test(test_reserve_overflow_leaves_the_array),
		cmocka_unit_test(test_arena_reserve_copies),
		cmocka_unit_test(test_arena_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
