/*
 * fuzz_agent_records.c - arbitrary bytes as probe ring-buffer records.
 *
 * The input is a sequence of records, each preceded by a 2-byte length.
 * Every record goes through the assembler exactly as the ring buffer's
 * would: decoding, the process table, hashing (real files where the bytes
 * happen to name them), Wine's loader chains (held rows polled at each
 * record's time), row building.  Nothing may crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assembler.h"

static void discard(void *context, const struct record *record)
{
	(void)context;
	(void)record;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char state_dir[] = "/tmp/rmmhunt-fuzz-XXXXXX";
	static bool made;
	struct file_cache_options cache = {.max_hash_bytes = 1 << 20,
					   .inline_hash_bytes = 1 << 20,
					   .max_entries = 32};
	struct device_identity identity = {.device_id = "0", .boot_id = "b"};
	struct boot_clock clock = {0};
	struct report_ids ids;
	struct file_cache *files;
	struct process_table *processes;
	struct accounts *accounts;
	struct assembler *assembler;
	struct assembler_context context;

	if (!made && mkdtemp(state_dir))
		made = true;
	if (report_ids_open(&ids, state_dir, 1 << 20) != 0)
		return 0;
	file_cache_create(&files, &cache);
	process_table_create(&processes, files, 16, 1);
	accounts_create(&accounts, 4);
	context = (struct assembler_context){.identity = &identity,
					     .clock = &clock,
					     .files = files,
					     .processes = processes,
					     .accounts = accounts,
					     .report_ids = &ids};
	assembler_create(&assembler, &context);
	assembler_add_sink(assembler, (struct record_sink){.write = discard});
	while (size >= 2) {
		size_t length = (size_t)data[0] | ((size_t)data[1] << 8);
		uint8_t *copy;

		data += 2;
		size -= 2;
		if (length > size)
			length = size;
		/* a copy of exactly the record's size, so ASan sees overreads */
		copy = malloc(length ? length : 1);
		memcpy(copy, data, length);
		assembler_handle(assembler, copy, length);
		/* held Wine rows: their maps and deadlines, at the record's time */
		if (length >= sizeof(struct event_header))
			assembler_poll(assembler,
				       ((const struct event_header *)copy)->time_boot_ns);
		free(copy);
		data += length;
		size -= length;
	}
	assembler_destroy(assembler);
	process_table_destroy(processes);
	file_cache_destroy(files);
	accounts_destroy(accounts);
	report_ids_close(&ids);
	return 0;
}
