/*
 * outputs.c - NDJSON records and console lines.
 *
 * Lines collect in memory until the main loop flushes them, right after the
 * cache committed the records they show.  Failed writes are counted, never
 * silent.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "outputs.h"
#include "base/timefmt.h"

int ndjson_output_open(struct ndjson_output *output, const char *path)
{
	memset(output, 0, sizeof(*output));
	strbuf_init(&output->pending);
	output->path = path;
	if (strcmp(path, "-") == 0) {
		output->file = stdout;
		return 0;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	output->file = fdopen(fd, "a");
	if (!output->file) {
		int error = errno;
		close(fd);
		return -error;
	}
	output->owned = true;
	return 0;
}

/* Write a whole buffer, counting lines that could not be written. */
static void write_pending(FILE *file, struct strbuf *pending, uint64_t *errors)
{
	if (!file || pending->length == 0)
		return;
	if (fwrite(pending->data, 1, pending->length, file) != pending->length ||
	    fflush(file) != 0) {
		for (size_t i = 0; i < pending->length; i++)
			*errors += pending->data[i] == '\n';
	}
	strbuf_clear(pending);
}

void ndjson_output_flush(struct ndjson_output *output)
{
	write_pending(output->file, &output->pending, &output->errors);
}

void ndjson_output_close(struct ndjson_output *output)
{
	ndjson_output_flush(output);
	if (output->owned && output->file)
		fclose(output->file);
	output->file = NULL;
	strbuf_free(&output->pending);
}

static void ndjson_write(void *context, const struct record *record)
{
	struct ndjson_output *output = context;

	if (record_append_json_line(record, &output->pending) != 0) {
		output->errors++;
		return;
	}
	output->written++;
}

struct record_sink ndjson_output_sink(struct ndjson_output *output)
{
	struct record_sink sink = {.write = ndjson_write, .context = output};

	return sink;
}

#define CONSOLE_WIDTH 160

static void console_write(void *context, const struct record *record)
{
	struct console_output *output = context;
	const struct value *values = record->values;
	char time[TIMEFMT_ISO_SIZE];

	timefmt_iso(values[DPE_TIMESTAMP].ticks, time);
	/* HH:MM:SS.mmm pid<-ppid user path: command line */
	strbuf_appendf(&output->pending, "%.12s %7lld <- %-7lld %-8.8s %.*s\n", time + 11,
		(long long)values[DPE_PROCESS_ID].l,
		values[DPE_INITIATING_PROCESS_ID].is_null
			? -1LL
			: (long long)values[DPE_INITIATING_PROCESS_ID].l,
		values[DPE_ACCOUNT_NAME].str, CONSOLE_WIDTH,
		values[DPE_PROCESS_COMMAND_LINE].len
			? values[DPE_PROCESS_COMMAND_LINE].str
			: values[DPE_FOLDER_PATH].str);
	output->written++;
}

void console_output_init(struct console_output *output, FILE *file)
{
	output->file = file;
	output->written = 0;
	strbuf_init(&output->pending);
}

void console_output_flush(struct console_output *output)
{
	uint64_t errors = 0;

	write_pending(output->file, &output->pending, &errors);
}

void console_output_close(struct console_output *output)
{
	console_output_flush(output);
	strbuf_free(&output->pending);
}

struct record_sink console_output_sink(struct console_output *output)
{
	struct record_sink sink = {.write = console_write, .context = output};

	return sink;
}
