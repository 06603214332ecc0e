/*
 * fuzz_config_file.c - the daemons' `key = value` config file parser.
 *
 * Whatever parses must hold only well-formed entries: a key of
 * [a-z0-9_-], no longer than CONFIG_KEY_MAX, lines increasing; whatever
 * fails must say on which line (within the input) and why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/config_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_entries(const struct config_file *config, size_t size)
{
	unsigned previous = 0;

	for (size_t i = 0; i < config->count; i++) {
		const struct config_entry *entry = &config->entries[i];
		size_t length = strlen(entry->key);

		if (length == 0 || length > CONFIG_KEY_MAX || entry->line <= previous ||
		    entry->line > size + 1 || strspn(entry->key, "abcdefghijklmnopqrstuvwxyz"
								 "0123456789-_") != length)
			abort();
		previous = entry->line;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_file config;
	struct config_error error;

	if (config_file_parse((const char *)data, size, &config, &error) == 0) {
		check_entries(&config, size);
		config_file_free(&config);
		return 0;
	}
	if (config.count != 0 || error.message[0] == '\0' || error.line > size + 1)
		abort();
	return 0;
}
