/*
 * batch_decoding.h - a batch's text decoded on two threads.
 *
 * One agent posts one batch and waits for its answer, so nothing else of
 * that agent's overlaps the decoding: a big batch is cut in two at a line
 * and its second half decoded by a helper thread meanwhile (batch_reader.h:
 * the same result and the same first error as batch_decode()).
 */
#ifndef RMMHUNT_COLLECTOR_BATCH_DECODING_H
#define RMMHUNT_COLLECTOR_BATCH_DECODING_H

#include <stddef.h>

#include "wire/batch_reader.h"

/* Texts shorter than this are decoded by the calling thread alone. */
#define BATCH_DECODING_SPLIT_BYTES ((size_t)256 * 1024)

/* batch_decode(), on two threads for texts of at least split_bytes. */
int batch_decoding_run(const char *text, size_t length, size_t split_bytes, struct batch *batch,
		       struct batch_error *error);

#endif
