/*
 * batch_decoding.c - a batch's text decoded on two threads (batch_decoding.h).
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "base/log.h"
#include "batch_decoding.h"

struct second_half {
	const struct batch *header;
	struct batch_part part;
	struct batch batch;
	struct batch_error error;
	int result;
};

static void *decode_second_half(void *argument)
{
	struct second_half *half = argument;

	half->result = batch_decode_part(half->header, &half->part, &half->batch, &half->error);
	return NULL;
}

int batch_decoding_run(const char *text, size_t length, size_t split_bytes, struct batch *batch,
		       struct batch_error *error)
{
	struct second_half half = {0};
	struct batch_part rest, first;
	pthread_t helper;
	int result;

	if (length < split_bytes)
		return batch_decode(text, length, batch, error);
	result = batch_decode_header(text, length, batch, error, &rest);
	if (result)
		return result;
	half.header = batch;
	batch_split(&rest, &first, &half.part);
	if (pthread_create(&helper, NULL, decode_second_half, &half) != 0) {
		log_debug("no helper thread to decode a batch: one thread decodes it");
		return batch_decode_part(batch, &rest, batch, error);
	}
	result = batch_decode_part(batch, &first, batch, error);
	pthread_join(helper, NULL);
	if (result == 0 && half.result != 0) {
		result = half.result;
		*error = half.error;
	}
	if (result == 0)
		return batch_join(batch, &half.batch);
	batch_free(&half.batch);
	return result;
}
