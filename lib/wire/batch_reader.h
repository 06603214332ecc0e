/*
 * batch_reader.h - the collector's side of the batch format (wire.h,
 * docs/fleet.md): gunzip with a cap on the decompressed size, then check
 * every line of the NDJSON against the schema before anything is stored.
 *
 * A decoded batch holds the header, the records, the hits and the rule
 * summaries with every value typed as the tables want it (struct value,
 * strings in the batch's arena), so the store can insert it in one
 * transaction without looking at JSON again.  The first bad line stops the
 * decoding with an error naming the line and the field; the message never
 * echoes more than 64 bytes of what the peer sent and never a value of a
 * record (command lines can hold secrets).
 */
#ifndef RMMHUNT_WIRE_BATCH_READER_H
#define RMMHUNT_WIRE_BATCH_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/strbuf.h"
#include "model/schema.h"
#include "model/value.h"

/* An identifier (DeviceId, rule id, batch id) is at most this long. */
#define BATCH_ID_MAX 200
/* The longest piece of a peer's text an error message repeats. */
#define BATCH_ECHO_MAX 64

struct batch_error {
	int status;	    /* the HTTP status it deserves: 400, 403 or 413 */
	unsigned long line; /* 1-based line of the batch; 0: not a line's fault */
	char message[320];
};

/*
 * Decompresses gzip data into out (cleared first).  More than max_output
 * bytes stops it: -EFBIG (status 413).  Not gzip, corrupt or truncated:
 * -EINVAL (status 400).  -ENOMEM.
 */
int batch_gunzip(const void *data, size_t length, size_t max_output, struct strbuf *out,
		 struct batch_error *error);
/* The size a gzip body says it decompresses to (its trailer; may lie). */
size_t batch_gunzip_announced(const void *data, size_t length);
/*
 * batch_gunzip(), telling progress(context, bytes) after each piece: the
 * text is out->data[0..bytes), and out->data never moves meanwhile, so
 * another thread may read it.  Room for expected bytes is reserved first;
 * more text than that stops it with -EOVERFLOW (error not set: gunzip
 * again another way).
 */
int batch_gunzip_watched(const void *data, size_t length, size_t max_output, size_t expected,
			 struct strbuf *out, void (*progress)(void *context, size_t inflated),
			 void *context, struct batch_error *error);

/* The columns a summary row is kept as (the collector's RuleSummaries). */
enum batch_summary_column {
	BATCH_SUMMARY_FIRST_SEEN,
	BATCH_SUMMARY_LAST_SEEN,
	BATCH_SUMMARY_REPORT, /* JSON text (string value); "" when absent */
	BATCH_SUMMARY_COUNT,
	BATCH_SUMMARY_COLUMN_COUNT
};

struct batch_rule {
	const char *id, *name, *tactics, *techniques; /* never NULL */
};

struct batch_record {
	struct value values[DPE_COLUMN_COUNT];
};

struct batch_hit {
	struct batch_rule rule;
	struct value values[DPE_COLUMN_COUNT];
};

struct batch_summary {
	struct batch_rule rule;
	int64_t updated; /* ticks */
	size_t row_count;
	struct value (*rows)[BATCH_SUMMARY_COLUMN_COUNT];
};

struct batch {
	char id[BATCH_ID_MAX + 1];
	char device_id[BATCH_ID_MAX + 1];
	const char *device_name;
	int64_t sent;
	struct batch_record *records;
	size_t record_count, record_capacity;
	struct batch_hit *hits;
	size_t hit_count, hit_capacity;
	struct batch_summary *summaries;
	size_t summary_count, summary_capacity;
	struct arena arena;   /* strings of the header and the summaries */
	char *strings;	      /* strings of records and hits (never longer than the text) */
	size_t strings_used, strings_size;
	struct batch *attached; /* a part joined in (batch_join): owns strings of its items */
};

/*
 * Decodes the NDJSON text of a batch (header line first).  Returns 0 with
 * batch filled (free it with batch_free() either way), or -EINVAL with
 * error (status 400; 403 when a line names another DeviceId than the
 * header), or -ENOMEM.
 */
int batch_decode(const char *text, size_t length, struct batch *batch, struct batch_error *error);
void batch_free(struct batch *batch);

/*
 * Decoding line by line (batch_decode() is these three): start, each line
 * (without its newline) in order, finish.  Each returns 0, or a negative
 * errno with the error set (then stop).  text_length bounds the strings
 * of all the lines together (the text's length will do).
 */
struct batch_cursor {
	struct batch *batch;
	struct batch_error *error;
	unsigned long line; /* lines read so far */
};

int batch_decode_start(struct batch *batch, size_t text_length, struct batch_error *error);
int batch_decode_line(struct batch_cursor *cursor, const char *text, size_t length);
/* Was there a header? */
int batch_decode_finish(const struct batch_cursor *cursor);

/*
 * One batch decoded in two parts (on two threads, say), with the very
 * result and errors of batch_decode():
 *
 *   batch_decode_header(text, length, &batch, &error, &rest);
 *   batch_split(&rest, &first, &second);
 *   batch_decode_part(&batch, &second, &other, &other_error);  (another thread)
 *   batch_decode_part(&batch, &first, &batch, &error);
 *   then the first error in line order (error's, else other_error's) is the
 *   batch's; with none, batch_join(&batch, &other).
 */
struct batch_part {
	const char *text; /* whole lines */
	size_t length;
	unsigned long lines_before; /* lines of the batch before text */
};

/* Decodes up to and with the header line; rest: the lines after it. */
int batch_decode_header(const char *text, size_t length, struct batch *batch,
			struct batch_error *error, struct batch_part *rest);
/* Cuts whole into two parts of whole lines, near its middle. */
void batch_split(const struct batch_part *whole, struct batch_part *first, struct batch_part *second);
/*
 * Decodes the lines of part into batch: header itself (the part after the
 * header), or a fresh batch (free it with batch_free()) for a later part.
 * header must not change meanwhile; it is only read.
 */
int batch_decode_part(const struct batch *header, const struct batch_part *part,
		      struct batch *batch, struct batch_error *error);
/* Moves second's items after batch's (second is emptied; -ENOMEM frees it). */
int batch_join(struct batch *batch, struct batch *second);

/*
 * Is text a DeviceId or identifier the collector accepts: 1 to
 * BATCH_ID_MAX characters of [A-Za-z0-9._:-]?
 */
bool batch_check_identifier(const char *text, size_t length);

#endif
