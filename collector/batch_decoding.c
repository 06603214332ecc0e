/*
 * batch_decoding.c - a batch gunzipped and decoded on two threads
 * (batch_decoding.h).
 *
 * The helper reads lines from the front of the text as the gunzip makes
 * them (a line is read once its newline is there, or the text is over).
 * The caller gunzips; then, if the helper is not near the end, it cuts
 * what is left at a line, tells the helper to stop there, and decodes the
 * tail into a batch of its own, joined after the helper's.  A bad line
 * the helper meets comes before any in the tail.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base/log.h"
#include "batch_decoding.h"

struct front {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	const char *text;   /* never moves */
	size_t inflated;    /* text[0..inflated) is there */
	bool over;	    /* no more text comes */
	size_t stop_at;	    /* no line starting here or after is the helper's */
	size_t reading_at;  /* the start of the line the helper is on */
	bool header_read;
	struct batch_cursor cursor;
	int result;
};

/* The end of the line at position (its newline, or the end of the text),
 * or SIZE_MAX when it is not all there yet.  Under the lock. */
static size_t line_end(const struct front *front, size_t position)
{
	const char *newline = position < front->inflated
				      ? memchr(front->text + position, '\n', front->inflated - position)
				      : NULL;

	if (newline)
		return (size_t)(newline - front->text);
	return front->over ? front->inflated : SIZE_MAX;
}

static void *read_front(void *argument)
{
	struct front *front = argument;
	size_t position = 0, end;
	int result = 0;

	pthread_mutex_lock(&front->lock);
	for (;;) {
		front->reading_at = position;
		if (position >= front->stop_at || (front->over && position >= front->inflated))
			break;
		end = line_end(front, position);
		if (end == SIZE_MAX) {
			pthread_cond_wait(&front->changed, &front->lock);
			continue;
		}
		pthread_mutex_unlock(&front->lock);
		result = batch_decode_line(&front->cursor, front->text + position, end - position);
		pthread_mutex_lock(&front->lock);
		position = end + 1;
		front->header_read = front->cursor.batch->id[0] != '\0';
		if (result)
			break;
	}
	front->result = result;
	pthread_mutex_unlock(&front->lock);
	return NULL;
}

static void inflated_more(void *context, size_t inflated)
{
	struct front *front = context;

	pthread_mutex_lock(&front->lock);
	front->inflated = inflated;
	pthread_cond_signal(&front->changed);
	pthread_mutex_unlock(&front->lock);
}

/*
 * The text is all there: where the tail the caller decodes starts (the
 * helper stops there), or 0 to leave all of it to the helper.  Under the
 * lock.
 */
static size_t cut_tail(struct front *front, size_t split_bytes)
{
	size_t total = front->inflated, current, middle, cut;

	if (!front->header_read || front->reading_at >= total ||
	    total - front->reading_at < split_bytes)
		return 0;
	current = line_end(front, front->reading_at);
	middle = front->reading_at + (total - front->reading_at) / 2;
	if (middle <= current)
		middle = current + 1;
	if (middle >= total)
		return 0;
	cut = line_end(front, middle);
	return cut + 1 < total ? cut + 1 : 0;
}

static unsigned long lines_before(const char *text, size_t length)
{
	unsigned long lines = 0;

	for (const char *p = text; (p = memchr(p, '\n', (size_t)(text + length - p))) != NULL; p++)
		lines++;
	return lines;
}

/* Decodes text[cut..total) into tail: the tail's result. */
static int decode_tail(const struct front *front, size_t cut, size_t total, struct batch *tail,
		       struct batch_error *error)
{
	struct batch_part part = {front->text + cut, total - cut, lines_before(front->text, cut)};

	return batch_decode_part(front->cursor.batch, &part, tail, error);
}

/* After the helper is joined: its result, then the tail's, then the join. */
static int combine(struct front *front, int tail_result, struct batch *tail,
		   struct batch_error *tail_error, bool split)
{
	int result = front->result;

	if (result == 0 && !split)
		result = batch_decode_finish(&front->cursor);
	if (result == 0 && split && tail_result != 0) {
		*front->cursor.error = *tail_error;
		result = tail_result;
	}
	if (result == 0 && split)
		return batch_join(front->cursor.batch, tail);
	batch_free(tail);
	return result;
}

/* Gunzip, then decode: when the text cannot be watched as it comes. */
static int gunzip_then_decode(const void *gzip, size_t gzip_length, size_t max_output,
			      size_t split_bytes, struct strbuf *text, struct batch *batch,
			      struct batch_error *error)
{
	int result = batch_gunzip(gzip, gzip_length, max_output, text, error);

	if (result) {
		memset(batch, 0, sizeof(*batch));
		return result;
	}
	return batch_decoding_run(text->data, text->length, split_bytes, batch, error);
}

int batch_decoding_gunzip(const void *gzip, size_t gzip_length, size_t max_output,
			  size_t split_bytes, struct strbuf *text, struct batch *batch,
			  struct batch_error *error)
{
	struct front front = {.stop_at = SIZE_MAX, .cursor = {batch, error, 0}};
	struct batch tail = {0};
	struct batch_error gunzip_error = {0}, tail_error = {0};
	size_t expected = batch_gunzip_announced(gzip, gzip_length), cut = 0;
	pthread_t helper;
	int result, tail_result = 0;

	if (expected > max_output)
		expected = max_output;
	strbuf_clear(text);
	result = batch_decode_start(batch, expected, error);
	if (result == 0 && !strbuf_reserve(text, expected + 2))
		result = -ENOMEM;
	if (result)
		return result;
	front.text = text->data;
	pthread_mutex_init(&front.lock, NULL);
	pthread_cond_init(&front.changed, NULL);
	if (pthread_create(&helper, NULL, read_front, &front) != 0) {
		log_debug("no helper thread to decode a batch: one thread does it all");
		pthread_mutex_destroy(&front.lock);
		pthread_cond_destroy(&front.changed);
		batch_free(batch);
		return gunzip_then_decode(gzip, gzip_length, max_output, split_bytes, text, batch,
					  error);
	}
	result = batch_gunzip_watched(gzip, gzip_length, max_output, expected, text, inflated_more,
				      &front, &gunzip_error);
	pthread_mutex_lock(&front.lock);
	front.over = true;
	if (result)
		front.stop_at = 0;
	else if ((cut = cut_tail(&front, split_bytes)) != 0)
		front.stop_at = cut;
	pthread_cond_signal(&front.changed);
	pthread_mutex_unlock(&front.lock);
	if (cut)
		tail_result = decode_tail(&front, cut, text->length, &tail, &tail_error);
	pthread_join(helper, NULL);
	pthread_mutex_destroy(&front.lock);
	pthread_cond_destroy(&front.changed);
	if (result == -EOVERFLOW) { /* the trailer said less than there is */
		batch_free(batch);
		return gunzip_then_decode(gzip, gzip_length, max_output, split_bytes, text, batch,
					  error);
	}
	if (result) {
		batch_free(&tail);
		*error = gunzip_error;
		return result;
	}
	return combine(&front, tail_result, &tail, &tail_error, cut != 0);
}

/* ---- text already there ------------------------------------------------------ */

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
