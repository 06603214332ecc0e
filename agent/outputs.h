/*
 * outputs.h - record sinks of the agent: the NDJSON event stream and the
 * one-line-per-exec console view.
 *
 * Both hold their lines until flushed: the agent flushes them only once the
 * cache has committed the same records, so whatever a reader of the stream
 * has seen is durable in the cache.
 */
#ifndef RMMHUNT_AGENT_OUTPUTS_H
#define RMMHUNT_AGENT_OUTPUTS_H

#include <stdint.h>
#include <stdio.h>

#include "assembler.h"
#include "base/strbuf.h"

struct ndjson_output {
	FILE *file;
	bool owned; /* opened here, closed here */
	const char *path;
	struct strbuf pending; /* lines not yet written */
	uint64_t written;
	uint64_t errors;
};

/* path "-" is stdout; other paths are opened for append, mode 0600. */
int ndjson_output_open(struct ndjson_output *output, const char *path);
void ndjson_output_close(struct ndjson_output *output);
void ndjson_output_flush(struct ndjson_output *output);
struct record_sink ndjson_output_sink(struct ndjson_output *output);

struct console_output {
	FILE *file;
	struct strbuf pending;
	uint64_t written;
};

void console_output_init(struct console_output *output, FILE *file);
void console_output_flush(struct console_output *output);
void console_output_close(struct console_output *output);
struct record_sink console_output_sink(struct console_output *output);

#endif
