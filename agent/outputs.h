/*
 * outputs.h - record sinks of the agent: the NDJSON event stream and the
 * one-line-per-exec console view.
 */
#ifndef RMMHUNT_AGENT_OUTPUTS_H
#define RMMHUNT_AGENT_OUTPUTS_H

#include <stdint.h>
#include <stdio.h>

#include "assembler.h"
#include "strbuf.h"

struct ndjson_output {
	FILE *file;
	bool owned; /* opened here, closed here */
	const char *path;
	struct strbuf line;
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
	uint64_t written;
};

struct record_sink console_output_sink(struct console_output *output);

#endif
