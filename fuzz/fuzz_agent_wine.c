/*
 * fuzz_agent_wine.c - arbitrary bytes through Wine's argv, path, command
 * line, environment (whole and streamed in chunks) and maps parsers
 * (agent/wine/wine.c).
 *
 * The input is split at the first four 0x01 bytes into: the exe path, the
 * filename, the interpreter, argv (NUL-separated, NULs allowed) and a text
 * that serves both as an environment block and as /proc/PID/maps.  Only the
 * pure functions run: no file system, no /proc.  Nothing may crash, read out
 * of bounds or leak.  Seeds: fuzz/seeds/agent_wine/ (a Wine script step, a
 * binfmt_misc exec, a Windows child with a DOS path with spaces, a
 * preloader, maps and environment text as Wine shows them).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "wine/wine.h"

#define FIELDS 5

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A heap copy of length bytes, with one NUL past them (as exec_facts.c
 * keeps strings and argv). */
static char *copy_of(const uint8_t *data, size_t length)
{
	char *copy = malloc(length + 1);

	if (copy) {
		memcpy(copy, data, length);
		copy[length] = '\0';
	}
	return copy;
}

static void parse_path(const char *argument)
{
	struct wine_path path;
	char *dos;

	if (wine_path_parse(argument, &path) == 0 && path.kind == WINE_PATH_DOS) {
		dos = wine_dos_path(path.drive, path.path);
		free(dos);
	}
	wine_path_free(&path);
}

static void parse_program(const struct wine_step *step)
{
	struct strbuf line;

	parse_path(step->program);
	(void)wine_file_name(step->program);
	strbuf_init(&line);
	wine_command_line(&line, step->program, step->arguments, step->arguments_length);
	strbuf_free(&line);
}

/* The streaming environment scan, fed in chunks whose size the input picks
 * (the same answers whatever the chunks: checked against one whole feed). */
static void environ_scan(const char *text, size_t length, size_t size)
{
	struct wine_environ_scan *whole = malloc(sizeof(*whole));
	struct wine_environ_scan *chunked = malloc(sizeof(*chunked));
	size_t chunk = size % 97 + 1;

	if (!whole || !chunked) {
		free(whole);
		free(chunked);
		return;
	}
	wine_environ_scan_init(whole);
	wine_environ_scan_init(chunked);
	wine_environ_scan_feed(whole, text, length);
	for (size_t offset = 0; offset < length; offset += chunk)
		wine_environ_scan_feed(chunked, text + offset,
				       length - offset < chunk ? length - offset : chunk);
	for (int name = 0; name < WINE_ENVIRON_NAMES; name++) {
		const char *a = wine_environ_scan_value(whole, (enum wine_environ_name)name);
		const char *b = wine_environ_scan_value(chunked, (enum wine_environ_name)name);

		if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0))
			abort();
	}
	free(whole);
	free(chunked);
}

static void parse_text(const char *text, size_t length, const char *name,
		       const uint8_t *data, size_t size)
{
	struct wine_maps_query query = {.name = name};
	struct wine_maps_result result;

	(void)wine_environ_value(text, length, "WINEPREFIX");
	(void)wine_environ_value(text, length, "HOME");
	environ_scan(text, length, size);
	if (size >= 16) {
		memcpy(&query.device, data, 8);
		memcpy(&query.inode, data + 8, 8);
	}
	if (wine_maps_find(text, length, &query, &result) == 0)
		(void)wine_mapped_name(result.found);
	wine_maps_result_free(&result);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t starts[FIELDS], lengths[FIELDS], field = 0, position = 0;
	char *fields[FIELDS] = {NULL};
	struct wine_step step;

	starts[0] = 0;
	for (; position < size && field + 1 < FIELDS; position++) {
		if (data[position] == 0x01) {
			lengths[field] = position - starts[field];
			starts[++field] = position + 1;
		}
	}
	lengths[field] = size - starts[field];
	while (++field < FIELDS) {
		starts[field] = size;
		lengths[field] = 0;
	}
	for (field = 0; field < FIELDS; field++) {
		fields[field] = copy_of(data + starts[field], lengths[field]);
		if (!fields[field])
			goto out;
	}
	if (wine_classify(fields[0], fields[1], fields[2], fields[3], lengths[3], &step) &&
	    step.program)
		parse_program(&step);
	parse_path(fields[1]);
	parse_path(fields[4]);
	parse_text(fields[4], lengths[4], step.program ? step.program : fields[1], data, size);
out:
	for (field = 0; field < FIELDS; field++)
		free(fields[field]);
	return 0;
}
