/*
 * batch_decoding.h - a batch's text decoded on two threads.
 *
 * One agent posts one batch and waits for its answer, so nothing else of
 * that agent's overlaps the work on it: here a helper thread decodes the
 * lines while the text is still being gunzipped, and when the gunzip is
 * done the rest of the text is cut in two at a line, the helper going on
 * with its half while the caller decodes the other.  The result and the
 * errors are those of batch_gunzip() then batch_decode() (batch_reader.h):
 * a gunzip error first, else the first bad line.
 */
#ifndef RMMHUNT_COLLECTOR_BATCH_DECODING_H
#define RMMHUNT_COLLECTOR_BATCH_DECODING_H

#include <stddef.h>

#include "base/strbuf.h"
#include "wire/batch_reader.h"

/* Rest of text shorter than this is left to the helper alone. */
#define BATCH_DECODING_SPLIT_BYTES ((size_t)64 * 1024)

/* batch_decode() on two threads: the rest after the header is split when
 * at least split_bytes long. */
int batch_decoding_run(const char *text, size_t length, size_t split_bytes, struct batch *batch,
		       struct batch_error *error);

/*
 * batch_gunzip() of gzip into text (max_output bytes at most), then
 * batch_decode(), overlapped.  Returns 0 with batch filled, or a negative
 * errno with error set (-ENOMEM: not set).  Free batch with batch_free()
 * and text with strbuf_free() either way.
 */
int batch_decoding_gunzip(const void *gzip, size_t gzip_length, size_t max_output,
			  size_t split_bytes, struct strbuf *text, struct batch *batch,
			  struct batch_error *error);

#endif
