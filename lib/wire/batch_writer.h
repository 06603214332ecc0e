/*
 * batch_writer.h - the agent's side of the batch format (wire.h,
 * docs/fleet.md): NDJSON lines compressed into one gzip body that never
 * exceeds a size limit.
 *
 * The writer compresses as lines come (zlib, gzip wrapper), so a batch is
 * never held twice.  Whether the next line still fits is decided before it
 * is taken, from the bytes compressed so far plus zlib's worst-case bound
 * for what is not flushed yet; only when that bound says no does the
 * writer flush (Z_SYNC_FLUSH) to learn the exact size and ask again.  So a
 * finished body is at most max_compressed bytes, always, and batches come
 * out close to the limit.
 *
 * The lines (wire.h's kinds): the header, then records, hits and rule
 * summaries, each a JSON object on one line, exactly as the collector's
 * batch_reader.h checks them.  A record's row is the object the agent
 * writes to --events (68 columns in table order).
 */
#ifndef RMMHUNT_WIRE_BATCH_WRITER_H
#define RMMHUNT_WIRE_BATCH_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zlib.h>

#include "base/strbuf.h"
#include "model/record.h"

struct batch_header {
	const char *batch_id; /* [A-Za-z0-9._:-], at most 200 characters */
	const char *device_id;
	const char *device_name;
	int64_t sent_ticks;
};

/* The rule a hit or a summary belongs to. */
struct batch_rule_text {
	const char *id, *name, *tactics, *techniques;
};

struct batch_writer {
	z_stream stream;
	bool stream_open;
	unsigned char *output; /* the compressed body so far */
	size_t output_length, output_capacity;
	size_t max_compressed;
	size_t unflushed; /* input bytes since the last flush */
	size_t lines; /* lines after the header */
	size_t input_bytes; /* uncompressed, header included */
	struct strbuf line; /* the line being built */
};

void batch_writer_init(struct batch_writer *writer, size_t max_compressed);
void batch_writer_free(struct batch_writer *writer);

/* Start a new batch (whatever was written before is dropped) with its
 * header line.  0, -ENOMEM, or -EFBIG when not even the header fits. */
int batch_writer_begin(struct batch_writer *writer, const struct batch_header *header);

/*
 * Add one line.  Returns 0 when it was added; -ENOSPC when it does not fit
 * in this batch any more (nothing was added: finish this batch, start the
 * next with it); -EFBIG when it would not fit even in an empty batch;
 * -EINVAL for a summary whose JSON is not what the cache writes; -ENOMEM.
 */
int batch_writer_add_record(struct batch_writer *writer, const struct record *record);
int batch_writer_add_hit(struct batch_writer *writer, const struct batch_rule_text *rule,
			 const struct record *record);
/* columns_json: [{"name", "type"}...]; rows_json: [{column: value...}...]
 * (the cache's RuleSummaries); the line carries rows as arrays in column
 * order. */
int batch_writer_add_summary(struct batch_writer *writer, const struct batch_rule_text *rule,
			     int64_t updated_ticks, const char *columns_json,
			     const char *rows_json);

/* Lines added after the header. */
size_t batch_writer_lines(const struct batch_writer *writer);

/* End the gzip stream; *body and *length stay valid until the next begin
 * or free.  0, -ENOMEM or -EIO. */
int batch_writer_finish(struct batch_writer *writer, const unsigned char **body,
			size_t *length);

/* The id of a batch: DEVICEID-E<records>-H<hits>-S<summaries>, the
 * shipper's cursors the batch starts after, into out: the same unsent rows
 * get the same id again. */
void batch_writer_format_id(char *out, size_t size, const char *device_id, int64_t after_record,
			    int64_t after_hit, int64_t after_summary);

#endif
