/*
 * scratch.c - per-row scratch space of the KQL evaluator.
 *
 * Row evaluation keeps temporary strings in a scratch arena that is reset
 * (not freed) after every row, and the dynamic (jansson) values made on the
 * way in a list of references dropped at the same time, so matching a record
 * allocates nothing once the arena has grown to its working size.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kql/internal.h"

bool kql_scratch_is_empty(const struct scratch *scratch)
{
	return scratch->dynamic_count == 0 && arena_is_empty(&scratch->arena);
}


void kql_scratch_reset(struct scratch *scratch)
{
	for (size_t i = 0; i < scratch->dynamic_count; i++)
		json_decref(scratch->dynamics[i]);
	scratch->dynamic_count = 0;
	arena_reset(&scratch->arena);
}

void kql_scratch_free(struct scratch *scratch)
{
	kql_scratch_reset(scratch);
	free(scratch->dynamics);
	scratch->dynamics = NULL;
	scratch->dynamic_capacity = 0;
	arena_release(&scratch->arena);
}

int kql_scratch_keep(struct scratch *scratch, json_t *json)
{
	json_t **grown = array_reserve(scratch->dynamics, &scratch->dynamic_capacity,
				       scratch->dynamic_count + 1, 16, sizeof(*grown));

	if (!grown) {
		json_decref(json);
		return -ENOMEM;
	}
	scratch->dynamics = grown;
	scratch->dynamics[scratch->dynamic_count++] = json;
	return 0;
}
