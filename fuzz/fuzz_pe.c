/*
 * fuzz_pe.c - libFuzzer target for the PE reader: headers, resource tree,
 * version blobs, table choice, and the JSON views built from the result.
 *
 * Seeds: fuzz/seeds/pe/ (small PE images written by
 * `build/tests/test_pe_version --write-seeds fuzz/seeds/pe`).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "binident/binident.h"
#include "binident/binident_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct binary_identity identity;

	if (binident_inspect_buffer(data, size, &identity) == 0) {
		for (int field = 0; field < VERSION_FIELD_COUNT; field++)
			(void)binident_version_field(&identity, field);
		json_t *json = binident_to_json(&identity);
		char *text = json_dumps(json, JSON_COMPACT);

		free(text);
		json_decref(json);
	}
	binident_release(&identity);
	return 0;
}
