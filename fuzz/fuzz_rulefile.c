/*
 * fuzz_rulefile.c - arbitrary bytes as a Sentinel YAML rule file.
 *
 * Whatever is accepted must have an id and a query whose recorded position
 * lies inside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rulefile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rule_file rule;
	struct rule_file_error error;
	size_t lines = 1;

	if (rule_file_parse((const char *)data, size, "fuzz", &rule, &error) != 0)
		return 0;
	/* line breaks as YAML counts them: \n, \r\n, a lone \r */
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n' || (data[i] == '\r' && (i + 1 == size || data[i + 1] != '\n'));
	if (!rule.id || !rule.query || rule.query_line == 0 || rule.query_line > lines)
		abort();
	rule_file_free(&rule);
	return 0;
}
