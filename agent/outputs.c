/*
 * outputs.c - NDJSON records and console lines.
 *
 * Writes go through stdio buffers; the main loop flushes after each batch
 * of ring-buffer records, so a reader of the file sees a record within one
 * loop turn.  Failed writes are counted, never silent.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "outputs.h"
#include "timefmt.h"

int ndjson_output_open(struct ndjson_output *output, const char *path)
{
	memset(output, 0, sizeof(*output));
	strbuf_init(&output->line);
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

void ndjson_output_flush(struct ndjson_output *output)
{
	if (output->file && fflush(output->file) != 0)
		output->errors++;
}

void ndjson_output_close(struct ndjson_output *output)
{
	ndjson_output_flush(output);
	if (output->owned && output->file)
		fclose(output->file);
	output->file = NULL;
	strbuf_free(&output->line);
}

static void ndjson_write(void *context, const struct record *record)
{
	struct ndjson_output *output = context;

	strbuf_clear(&output->line);
	if (record_append_json_line(record, &output->line) != 0 ||
	    fwrite(output->line.data, 1, output->line.length, output->file) !=
		    output->line.length) {
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
	fprintf(output->file, "%.12s %7lld <- %-7lld %-8.8s %.*s\n", time + 11,
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

struct record_sink console_output_sink(struct console_output *output)
{
	struct record_sink sink = {.write = console_write, .context = output};

	return sink;
}
