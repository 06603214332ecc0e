/*
 * outputs.c - NDJSON records and console lines.
 *
 * Lines collect in memory until the main loop flushes them, right after the
 * cache committed the records they show.  Failed writes are counted, never
 * silent.  Console lines show text escaped (base/text.h); NDJSON escapes C1
 * and bidi controls as \uXXXX (base/json_writer.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "outputs.h"
#include "base/text.h"
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

/* Append text escaped for the terminal (text.h), at most width characters. */
static void append_console_text(struct strbuf *out, const struct value *value, size_t width)
{
	size_t start = out->length, characters = 0;

	text_append_safe(out, value->str, value->len, TEXT_ESCAPE_DISPLAY);
	for (size_t i = start; i < out->length; i++) {
		if (((unsigned char)out->data[i] & 0xc0) == 0x80)
			continue;
		if (characters++ == width) {
			out->length = i;
			out->data[i] = '\0';
			return;
		}
	}
}

/*
 * HH:MM:SS.mmm pid<-ppid user path: command line.  Every text is escaped:
 * argv and paths are the user's, and a newline or an escape sequence in them
 * must not forge a line or drive the terminal.
 */
static void console_write(void *context, const struct record *record)
{
	struct console_output *output = context;
	const struct value *values = record->values;
	char time[TIMEFMT_ISO_SIZE];
	size_t account_start;

	timefmt_iso(values[DPE_TIMESTAMP].ticks, time);
	strbuf_appendf(&output->pending, "%.12s %7lld <- %-7lld ", time + 11,
		       (long long)values[DPE_PROCESS_ID].l,
		       values[DPE_INITIATING_PROCESS_ID].is_null
			       ? -1LL
			       : (long long)values[DPE_INITIATING_PROCESS_ID].l);
	account_start = output->pending.length;
	append_console_text(&output->pending, &values[DPE_ACCOUNT_NAME], 8);
	while (!output->pending.failed && output->pending.length < account_start + 8)
		strbuf_append_char(&output->pending, ' ');
	strbuf_append_char(&output->pending, ' ');
	append_console_text(&output->pending,
			    values[DPE_PROCESS_COMMAND_LINE].len ? &values[DPE_PROCESS_COMMAND_LINE]
								 : &values[DPE_FOLDER_PATH],
			    CONSOLE_WIDTH);
	strbuf_append_char(&output->pending, '\n');
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
