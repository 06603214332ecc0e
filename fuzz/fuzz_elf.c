/*
 * fuzz_elf.c - libFuzzer target for the ELF facts (libelf: notes, package
 * note, interpreter, .go.buildinfo) and, on the same bytes, the Go build
 * info parser on its own, with the input as its address space (so the
 * pointer format is reached without a valid ELF around it).
 *
 * Seeds: fuzz/seeds/elf/ (tests/fixtures/elf/mkseeds.sh).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "binident/binident.h"
#include "binident/binident_json.h"
#include "binident/go_buildinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
	const uint8_t *data;
	size_t size;
};

/* Addresses are offsets into the input. */
static int read_input(void *context, uint64_t address, void *out, size_t length)
{
	const struct input *input = context;

	if (address > input->size || length > input->size - address)
		return -ERANGE;
	memcpy(out, input->data + address, length);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct binary_identity identity;
	struct input input = {data, size};
	struct go_buildinfo *go = NULL;

	if (binident_inspect_buffer(data, size, &identity) == 0) {
		json_t *json = binident_to_json(&identity);
		char *text = json_dumps(json, JSON_COMPACT);

		free(text);
		json_decref(json);
	}
	binident_release(&identity);
	if (go_buildinfo_parse(data, size, read_input, &input, &go, NULL) == 0)
		go_buildinfo_free(go);
	return 0;
}
