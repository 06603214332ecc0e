/*
 * shipper.c - the sender thread and what the main thread sees of it (see
 * shipper.h).
 *
 * The sender runs one step at a time; a step does what is due and says
 * how long it may sleep (it also wakes on the main thread's eventfd):
 *
 *   1. open the cache read-only and load the cursors (once);
 *   2. account rows retention removed before they were shipped (at most
 *      once a second, also while the collector is away);
 *   3. no request before a failure's retry time;
 *   4. enroll when there is no device key;
 *   5. a heartbeat when due; after a failure the heartbeat is the probe
 *      that the collector is back, then the reconnect spread runs;
 *   6. one batch when rows wait (at most one a second unless the last was
 *      full: a trickle of rows makes one request a second, not one per
 *      commit).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "base/version.h"
#include "batch_builder.h"
#include "collector_answer.h"
#include "enrollment.h"
#include "heartbeat.h"
#include "http_client.h"
#include "outbox_state.h"
#include "shipper.h"
#include "store/cache_outbox.h"
#include "wire/wire.h"

#define PATH_BYTES 4096
#define LINGER_MS 1000
#define GAP_CHECK_MS 1000
#define DEPTH_CHECK_MS 5000
#define OPEN_RETRY_MS 1000
#define CONNECT_TIMEOUT_SECONDS 15
#define STALL_TIMEOUT_SECONDS 60
/* after a 413, batches stay small this long, then try the full size */
#define SMALL_BATCHES_MS (3600LL * 1000)
#define MIN_BATCH_BYTES 4096
#define DROP_LOG_MS (60LL * 1000) /* drops are said at most once a minute */
#define BATCH_MAX_BYTES ((size_t)WIRE_BATCH_MAX_COMPRESSED)

enum step_outcome { STEP_DONE, STEP_AGAIN, STEP_FAILED };

struct sender {
	struct http_client *http;
	struct cache_outbox *outbox;
	bool cursors_loaded;
	struct outbox_state cursors;
	struct enrollment enrollment;
	bool have_key;
	struct batch_writer writer;
	struct host_facts host;
	unsigned collector; /* index of the one in use */
	unsigned failures; /* consecutive */
	int64_t retry_at_ms, resume_at_ms, next_heartbeat_ms;
	int64_t last_batch_ms, last_gap_check_ms, last_depth_check_ms;
	uint64_t dropped_unsaid[2]; /* records, hits dropped since the last log line */
	int64_t last_drop_log_ms;
	bool outage; /* a failure since the last answer */
	bool last_batch_full;
	size_t byte_limit, row_limit;
	int64_t byte_limit_since_ms;
	uint64_t random;
	struct shipper_stats stats; /* published under the lock */
};

struct shipper {
	struct ship_options options;
	const struct device_identity *identity;
	char cache_path[PATH_BYTES], outbox_path[PATH_BYTES], enrollment_path[PATH_BYTES];

	/* shared with the main thread */
	pthread_t thread;
	int wake_fd;
	atomic_bool stopping;
	atomic_int_fast64_t drain_until_ms;
	atomic_int_fast64_t committed[OUTBOX_KINDS];
	pthread_mutex_t lock; /* status_text, published */
	char *status_text;
	struct shipper_stats published;

	struct sender sender; /* the sender thread's alone */
};

static int64_t monotonic_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static uint64_t next_random(struct sender *sender)
{
	return backoff_random_next(&sender->random);
}

static const char *current_collector(const struct shipper *shipper)
{
	return shipper->options.collectors[shipper->sender.collector];
}

/* ---- what the main thread sees -------------------------------------------- */

static void publish_stats(struct shipper *shipper)
{
	struct sender *sender = &shipper->sender;

	for (int kind = 0; kind < OUTBOX_KINDS; kind++) {
		sender->stats.acknowledged[kind] = sender->cursors.acknowledged[kind];
		sender->stats.dropped[kind] = sender->cursors.dropped[kind];
		sender->stats.rejected[kind] = sender->cursors.rejected[kind];
	}
	snprintf(sender->stats.collector, sizeof(sender->stats.collector), "%s",
		 current_collector(shipper));
	sender->stats.enrolled = sender->have_key || shipper->options.client_certificate;
	pthread_mutex_lock(&shipper->lock);
	shipper->published = sender->stats;
	pthread_mutex_unlock(&shipper->lock);
}

void shipper_publish(struct shipper *shipper, const struct cache_sequences *committed)
{
	uint64_t one = 1;

	if (!shipper)
		return;
	/* the main loop calls this every round: only news wake the sender */
	if (atomic_load(&shipper->committed[OUTBOX_RECORDS]) == committed->records &&
	    atomic_load(&shipper->committed[OUTBOX_HITS]) == committed->hits &&
	    atomic_load(&shipper->committed[OUTBOX_SUMMARIES]) == committed->summaries)
		return;
	atomic_store(&shipper->committed[OUTBOX_RECORDS], committed->records);
	atomic_store(&shipper->committed[OUTBOX_HITS], committed->hits);
	atomic_store(&shipper->committed[OUTBOX_SUMMARIES], committed->summaries);
	/* non-blocking; a full counter already means "wake up" */
	if (write(shipper->wake_fd, &one, sizeof(one)) < 0)
		return;
}

void shipper_publish_status(struct shipper *shipper, const char *status_json)
{
	char *copy, *old;

	if (!shipper || !(copy = strdup(status_json)))
		return;
	pthread_mutex_lock(&shipper->lock);
	old = shipper->status_text;
	shipper->status_text = copy;
	pthread_mutex_unlock(&shipper->lock);
	free(old);
}

void shipper_read_stats(struct shipper *shipper, struct shipper_stats *stats)
{
	pthread_mutex_lock(&shipper->lock);
	*stats = shipper->published;
	pthread_mutex_unlock(&shipper->lock);
	if (stats->next_attempt_ms)
		stats->next_attempt_ms = stats->next_attempt_ms > monotonic_ms()
						 ? stats->next_attempt_ms - monotonic_ms()
						 : 0;
}

/* ---- failures ------------------------------------------------------------- */

static void set_error(struct shipper *shipper, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

static void set_error(struct shipper *shipper, const char *format, ...)
{
	struct sender *sender = &shipper->sender;
	va_list arguments;

	va_start(arguments, format);
	vsnprintf(sender->stats.last_error, sizeof(sender->stats.last_error), format, arguments);
	va_end(arguments);
	sender->stats.last_error_ticks = timefmt_now_ticks();
}

/* What a request that got no usable answer says, into the last error. */
static void describe_failure(struct shipper *shipper, const char *what,
			     const struct http_response *response)
{
	char said[COLLECTOR_ANSWER_ECHO_MAX + 1];

	if (response->status == 0) {
		set_error(shipper, "%s to %s: %s", what, current_collector(shipper),
			  response->transport_error);
		return;
	}
	collector_answer_error(response->body.data ? response->body.data : "",
			       response->body.length, said, sizeof(said));
	set_error(shipper, "%s to %s: HTTP %ld%s%s", what, current_collector(shipper),
		  response->status, said[0] ? ": " : "", said);
}

/*
 * A failure that may pass (no answer, 429, 5xx, ...): back off with full
 * jitter, never before Retry-After; the next try goes to the next
 * collector of the list.
 */
static void retry_later(struct shipper *shipper, const struct http_response *response,
			int64_t now)
{
	struct sender *sender = &shipper->sender;
	int64_t retry_after_ms = -1;
	uint64_t delay;

	if (response && response->retry_after_seconds >= 0) {
		retry_after_ms = response->retry_after_seconds * 1000;
		sender->stats.retry_after_seconds = response->retry_after_seconds;
	}
	sender->failures++;
	sender->stats.failures++;
	sender->outage = true;
	delay = backoff_delay_ms(sender->failures, retry_after_ms, next_random(sender));
	sender->retry_at_ms = now + (int64_t)delay;
	sender->stats.next_attempt_ms = sender->retry_at_ms;
	sender->stats.state = "retrying";
	log_warning("%s; trying again in %.1f s%s", sender->stats.last_error,
		    (double)delay / 1000.0, retry_after_ms >= 0 ? " (the collector's Retry-After)" : "");
	if (shipper->options.collector_count > 1 && (!response || response->status == 0 ||
						     response->status >= 500 ||
						     response->status == 429))
		sender->collector = (sender->collector + 1) % shipper->options.collector_count;
}

/* An answer: the collector is there. */
static void answered(struct shipper *shipper, int64_t now)
{
	struct sender *sender = &shipper->sender;

	if (sender->outage) {
		uint64_t spread = backoff_spread_ms(
			(uint64_t)shipper->options.reconnect_spread_seconds * 1000,
			next_random(sender));

		sender->resume_at_ms = now + (int64_t)spread;
		log_notice("the collector %s answers again; sending the backlog in %.1f s",
			   current_collector(shipper), (double)spread / 1000.0);
	}
	sender->outage = false;
	sender->failures = 0;
	sender->stats.next_attempt_ms = 0;
}

/* ---- requests ------------------------------------------------------------- */

static int post(struct shipper *shipper, const char *path, const void *body, size_t length,
		bool gzip, bool with_key, struct http_response *response)
{
	struct sender *sender = &shipper->sender;
	struct http_request request = {
		.base_url = current_collector(shipper),
		.path = path,
		.bearer = with_key && sender->have_key ? sender->enrollment.device_key : NULL,
		.content_type = gzip ? "application/x-ndjson" : "application/json",
		.gzip = gzip,
		.body = body,
		.length = length,
	};

	return http_client_post(sender->http, &request, response);
}

/* 401: the key is no good any more (revoked, or the collector forgot it). */
static void forget_key(struct shipper *shipper)
{
	struct sender *sender = &shipper->sender;

	sender->have_key = false;
	if (!shipper->options.enroll_secret_file)
		set_error(shipper, "the collector %s refused the device key (401) and there is no "
				   "--enroll-secret-file to enroll again",
			  current_collector(shipper));
	else
		log_warning("the collector %s refused the device key (401): enrolling again",
			    current_collector(shipper));
}

static enum step_outcome enroll(struct shipper *shipper, int64_t now)
{
	struct sender *sender = &shipper->sender;
	struct http_response response;
	struct strbuf body;
	char *secret = NULL, message[256];
	struct enrollment fresh;
	int result;

	sender->stats.state = "enrolling";
	if (!shipper->options.enroll_secret_file) {
		set_error(shipper, "no device key for %s and no --enroll-secret-file",
			  current_collector(shipper));
		retry_later(shipper, NULL, now);
		return STEP_FAILED;
	}
	if (enrollment_read_secret(shipper->options.enroll_secret_file, &secret, message,
				   sizeof(message)) != 0) {
		set_error(shipper, "%s", message);
		retry_later(shipper, NULL, now);
		return STEP_FAILED;
	}
	strbuf_init(&body);
	enrollment_request_body(&body, secret, shipper->identity, RMMHUNT_VERSION);
	explicit_bzero(secret, strlen(secret));
	free(secret);
	http_response_init(&response);
	result = body.failed ? -ENOMEM
			     : post(shipper, WIRE_PATH_ENROLL, body.data, body.length, false, false,
				    &response);
	if (body.data)
		explicit_bzero(body.data, body.length);
	strbuf_free(&body);
	if (result == -ECANCELED) {
		http_response_free(&response);
		return STEP_FAILED;
	}
	memset(&fresh, 0, sizeof(fresh));
	if (result == 0 && response.status == 200 &&
	    collector_answer_enroll(strbuf_text(&response.body), response.body.length,
				    shipper->identity->device_id, fresh.device_key, message,
				    sizeof(message)) == 0) {
		snprintf(fresh.collector, sizeof(fresh.collector), "%s", current_collector(shipper));
		snprintf(fresh.device_id, sizeof(fresh.device_id), "%s",
			 shipper->identity->device_id);
		fresh.enrolled_ticks = timefmt_now_ticks();
		sender->enrollment = fresh;
		sender->have_key = true;
		sender->stats.enrollments++;
		result = enrollment_save(shipper->enrollment_path, &fresh);
		if (result)
			log_error("cannot write %s: %s (the key is kept in memory only)",
				  shipper->enrollment_path, strerror(-result));
		log_notice("enrolled with %s as DeviceId %s", current_collector(shipper),
			   fresh.device_id);
		answered(shipper, now);
		http_response_free(&response);
		return STEP_AGAIN;
	}
	if (result == 0 && response.status == 200)
		set_error(shipper, "enrolling with %s: %s", current_collector(shipper), message);
	else if (response.status == 401)
		set_error(shipper, "the collector %s refused the enrollment secret (401)",
			  current_collector(shipper));
	else
		describe_failure(shipper, "enrolling", &response);
	retry_later(shipper, &response, now);
	http_response_free(&response);
	return STEP_FAILED;
}

/* ---- the outbox ----------------------------------------------------------- */

static void save_cursors(struct shipper *shipper)
{
	int result = outbox_state_save(shipper->outbox_path, &shipper->sender.cursors);

	if (result)
		log_error("cannot write %s: %s (after a restart, acknowledged rows are sent "
			  "again; the collector ignores them)",
			  shipper->outbox_path, strerror(-result));
}

static int open_outbox(struct shipper *shipper)
{
	struct sender *sender = &shipper->sender;
	struct cache_outbox_state state;
	char message[600];
	int result;

	result = cache_outbox_open(shipper->cache_path, &sender->outbox, message, sizeof(message));
	if (result) {
		set_error(shipper, "%s", message);
		return result;
	}
	result = cache_outbox_read_state(sender->outbox, &state);
	if (result) {
		set_error(shipper, "%s", cache_outbox_error(sender->outbox));
		cache_outbox_close(sender->outbox);
		sender->outbox = NULL;
		return result;
	}
	result = outbox_state_load(shipper->outbox_path, &sender->cursors, message,
				   sizeof(message));
	if (result < 0)
		log_error("%s: %s; shipping the cache from its start (the collector ignores what "
			  "it already has)", shipper->outbox_path, message);
	if (result == 0 && sender->cursors.cache_id != state.cache_id) {
		log_warning("%s followed another cache file: shipping %s from its start",
			    shipper->outbox_path, shipper->cache_path);
		memset(sender->cursors.acknowledged, 0, sizeof(sender->cursors.acknowledged));
	}
	if (result != 0 || sender->cursors.cache_id != state.cache_id) {
		sender->cursors.cache_id = state.cache_id;
		save_cursors(shipper);
	}
	sender->cursors_loaded = true;
	return 0;
}

/* Rows retention removed unshipped: counted now, said at most once a minute
 * (a full cache during a long outage drops some every second). */
static void note_dropped(struct shipper *shipper, enum outbox_kind kind, uint64_t count,
			 int64_t now)
{
	struct sender *sender = &shipper->sender;

	sender->cursors.dropped[kind] += count;
	sender->dropped_unsaid[kind] += count;
	if (sender->last_drop_log_ms && now - sender->last_drop_log_ms < DROP_LOG_MS)
		return;
	sender->last_drop_log_ms = now;
	log_warning("the cache's retention removed %" PRIu64 " records and %" PRIu64 " hits "
		    "before they were shipped (counted: outbox.dropped_records %" PRIu64
		    ", outbox.dropped_hits %" PRIu64 ")",
		    sender->dropped_unsaid[OUTBOX_RECORDS], sender->dropped_unsaid[OUTBOX_HITS],
		    sender->cursors.dropped[OUTBOX_RECORDS], sender->cursors.dropped[OUTBOX_HITS]);
	sender->dropped_unsaid[OUTBOX_RECORDS] = 0;
	sender->dropped_unsaid[OUTBOX_HITS] = 0;
}

/*
 * Rows retention removed before they were shipped, at the front of the
 * outbox: the first row after a cursor is numbered past cursor + 1, or
 * none is left below the high-water mark.  The state is read before the
 * rows, so a row committed in between is never taken for a removed one.
 */
static void account_front_gaps(struct shipper *shipper, int64_t now)
{
	static const enum cache_outbox_kind tables[2] = {CACHE_OUTBOX_RECORDS, CACHE_OUTBOX_HITS};
	struct sender *sender = &shipper->sender;
	struct cache_outbox_state state;
	int64_t high[2], first, timestamp;
	bool changed = false;

	if (cache_outbox_read_state(sender->outbox, &state) != 0)
		return;
	high[OUTBOX_RECORDS] = state.high_water.records;
	high[OUTBOX_HITS] = state.high_water.hits;
	for (int kind = OUTBOX_RECORDS; kind <= OUTBOX_HITS; kind++) {
		int64_t *cursor = &sender->cursors.acknowledged[kind];
		int64_t missing;

		if (kind == OUTBOX_RECORDS && shipper->options.hits_only)
			continue;
		if (cache_outbox_first_after(sender->outbox, tables[kind], *cursor, &first,
					     &timestamp) != 0)
			return;
		missing = first ? first - *cursor - 1 : high[kind] - *cursor;
		if (missing <= 0)
			continue;
		note_dropped(shipper, (enum outbox_kind)kind, (uint64_t)missing, now);
		*cursor += missing;
		changed = true;
	}
	if (changed)
		save_cursors(shipper);
}

/* How many rows wait, and the oldest's Timestamp, for status and heartbeats. */
static void measure_depth(struct shipper *shipper)
{
	static const enum cache_outbox_kind tables[OUTBOX_KINDS] = {
		CACHE_OUTBOX_RECORDS, CACHE_OUTBOX_HITS, CACHE_OUTBOX_SUMMARIES};
	struct sender *sender = &shipper->sender;
	int64_t oldest = 0;

	for (int kind = 0; kind < OUTBOX_KINDS; kind++) {
		int64_t count = 0, first, timestamp = 0;

		if (!(kind == OUTBOX_RECORDS && shipper->options.hits_only))
			cache_outbox_count_after(sender->outbox, tables[kind],
						 sender->cursors.acknowledged[kind], &count);
		sender->stats.pending[kind] = count;
		if (count && kind != OUTBOX_SUMMARIES &&
		    cache_outbox_first_after(sender->outbox, tables[kind],
					     sender->cursors.acknowledged[kind], &first,
					     &timestamp) == 0 &&
		    timestamp && (!oldest || timestamp < oldest))
			oldest = timestamp;
	}
	sender->stats.oldest_pending_ticks = oldest;
}

static bool rows_wait(struct shipper *shipper)
{
	const struct outbox_state *cursors = &shipper->sender.cursors;

	return (!shipper->options.hits_only &&
		atomic_load(&shipper->committed[OUTBOX_RECORDS]) >
			cursors->acknowledged[OUTBOX_RECORDS]) ||
	       atomic_load(&shipper->committed[OUTBOX_HITS]) > cursors->acknowledged[OUTBOX_HITS] ||
	       atomic_load(&shipper->committed[OUTBOX_SUMMARIES]) >
		       cursors->acknowledged[OUTBOX_SUMMARIES];
}

/* ---- heartbeats ----------------------------------------------------------- */

static enum step_outcome send_heartbeat(struct shipper *shipper, int64_t now)
{
	struct sender *sender = &shipper->sender;
	struct heartbeat_facts facts = {
		.identity = shipper->identity,
		.host = &sender->host,
		.interval_seconds = shipper->options.heartbeat_interval_seconds,
		.cursors = &sender->cursors,
		.last_error = sender->stats.last_error,
		.now_ticks = timefmt_now_ticks(),
	};
	struct http_response response;
	struct strbuf body;
	int result;

	measure_depth(shipper);
	cache_outbox_cache_facts(sender->outbox, &facts.cache_records, &facts.cache_oldest_ticks);
	facts.outbox_records = sender->stats.pending[OUTBOX_RECORDS];
	facts.outbox_hits = sender->stats.pending[OUTBOX_HITS];
	facts.outbox_oldest_ticks = sender->stats.oldest_pending_ticks;
	strbuf_init(&body);
	pthread_mutex_lock(&shipper->lock);
	facts.status_json = shipper->status_text;
	result = heartbeat_build(&facts, &body);
	pthread_mutex_unlock(&shipper->lock);
	http_response_init(&response);
	if (result == 0)
		result = post(shipper, WIRE_PATH_HEARTBEAT, body.data, body.length, false, true,
			      &response);
	strbuf_free(&body);
	if (result == 0 && response.status == 200) {
		sender->stats.heartbeats++;
		sender->next_heartbeat_ms =
			now + (int64_t)shipper->options.heartbeat_interval_seconds * 1000;
		answered(shipper, now);
		http_response_free(&response);
		return STEP_DONE;
	}
	if (result == -ECANCELED) {
		http_response_free(&response);
		return STEP_FAILED;
	}
	if (result == 0 && response.status == 401) {
		forget_key(shipper);
		answered(shipper, now);
		http_response_free(&response);
		return shipper->options.enroll_secret_file ? STEP_AGAIN : STEP_FAILED;
	}
	describe_failure(shipper, "heartbeat", &response);
	retry_later(shipper, &response, now);
	http_response_free(&response);
	return STEP_FAILED;
}

/* ---- batches -------------------------------------------------------------- */

/* What a batch took is behind the cursors now: the rows sent, the rows
 * found missing (dropped), another DeviceId's rows (rejected). */
static void apply_plan(struct shipper *shipper, const struct batch_plan *plan, int64_t now)
{
	struct sender *sender = &shipper->sender;

	for (int kind = 0; kind < OUTBOX_KINDS; kind++) {
		sender->cursors.acknowledged[kind] = plan->last[kind];
		sender->cursors.rejected[kind] += plan->foreign[kind];
		if (plan->gaps[kind])
			note_dropped(shipper, (enum outbox_kind)kind, plan->gaps[kind], now);
		if (plan->foreign[kind])
			log_warning("%" PRIu64 " rows of the cache are not this device's (another "
				    "DeviceId, or a summary that is not JSON): not shipped (counted: "
				    "outbox.rejected_*)",
				    plan->foreign[kind]);
	}
	save_cursors(shipper);
}

static void accept_batch(struct shipper *shipper, const struct batch_plan *plan,
			 const struct http_response *response, size_t length, int64_t now)
{
	struct sender *sender = &shipper->sender;
	struct events_answer answer;
	char message[160];

	apply_plan(shipper, plan, now);
	if (collector_answer_events(strbuf_text(&response->body), response->body.length, &answer,
				    message, sizeof(message)) == 0) {
		sender->stats.duplicates += answer.duplicates;
	} else {
		log_warning("%s (the batch was acknowledged with 200)", message);
	}
	sender->stats.batches++;
	sender->stats.records_sent += plan->lines[OUTBOX_RECORDS];
	sender->stats.hits_sent += plan->lines[OUTBOX_HITS];
	sender->stats.summaries_sent += plan->lines[OUTBOX_SUMMARIES];
	sender->stats.bytes_sent += length;
	sender->stats.last_success_ticks = timefmt_now_ticks();
	sender->stats.state = "ok";
	sender->row_limit = 0;
}

/* A row no collector will take: skip it for good, counted. */
static void reject_row(struct shipper *shipper, enum outbox_kind kind, int64_t sequence,
		       const char *why)
{
	static const char *const names[OUTBOX_KINDS] = {"record", "hit", "summary"};
	struct sender *sender = &shipper->sender;

	sender->cursors.rejected[kind]++;
	if (sequence > sender->cursors.acknowledged[kind]) {
		/* rows between the cursor and it were removed by retention */
		if (kind != OUTBOX_SUMMARIES)
			sender->cursors.dropped[kind] +=
				(uint64_t)(sequence - sender->cursors.acknowledged[kind] - 1);
		sender->cursors.acknowledged[kind] = sequence;
	}
	save_cursors(shipper);
	set_error(shipper, "%s %" PRId64 " of the cache cannot be shipped: %s (counted: "
			   "outbox.rejected_%s)",
		  names[kind], sequence, why, kind == OUTBOX_SUMMARIES ? "summaries"
						: kind == OUTBOX_HITS	 ? "hits"
									 : "records");
	log_error("%s", sender->stats.last_error);
}

/* The kind and number of the one row of a one-line batch. */
static enum outbox_kind only_row(const struct batch_plan *plan, int64_t *sequence)
{
	for (int kind = 0; kind < OUTBOX_KINDS; kind++) {
		if (plan->lines[kind] && plan->last[kind] != plan->after[kind]) {
			*sequence = plan->last[kind];
			return (enum outbox_kind)kind;
		}
	}
	*sequence = plan->last[OUTBOX_HITS];
	return OUTBOX_HITS;
}

/* 413 (too large) and 400 (malformed): smaller batches find the culprit. */
static enum step_outcome refused_batch(struct shipper *shipper, const struct batch_plan *plan,
				       const struct http_response *response, size_t length,
				       int64_t now)
{
	struct sender *sender = &shipper->sender;
	char said[COLLECTOR_ANSWER_ECHO_MAX + 1];
	int64_t sequence;

	collector_answer_error(strbuf_text(&response->body), response->body.length, said,
			       sizeof(said));
	answered(shipper, now);
	if (plan->rows <= 1) {
		enum outbox_kind kind = only_row(plan, &sequence);
		char why[COLLECTOR_ANSWER_ECHO_MAX + 64];

		snprintf(why, sizeof(why), "the collector refused it alone (HTTP %ld%s%s)",
			 response->status, said[0] ? ": " : "", said);
		reject_row(shipper, kind, sequence, why);
		return STEP_AGAIN;
	}
	sender->stats.splits++;
	if (response->status == 413) {
		size_t half = length / 2;

		sender->byte_limit = half > MIN_BATCH_BYTES ? half : MIN_BATCH_BYTES;
		sender->byte_limit_since_ms = now;
		log_notice("the collector %s refused a batch of %zu bytes as too large (413): "
			   "batches of at most %zu bytes from now on",
			   current_collector(shipper), length, sender->byte_limit);
		if (length <= MIN_BATCH_BYTES)
			sender->row_limit = plan->rows / 2;
	} else {
		sender->row_limit = plan->rows / 2;
		log_warning("the collector %s refused a batch of %zu rows (HTTP 400%s%s): "
			    "splitting it to find the row",
			    current_collector(shipper), plan->rows, said[0] ? ": " : "", said);
	}
	return STEP_AGAIN;
}

/* The batch byte limit goes back up an hour after the last 413. */
static size_t batch_byte_limit(struct sender *sender, int64_t now)
{
	if (sender->byte_limit < BATCH_MAX_BYTES &&
	    now - sender->byte_limit_since_ms > SMALL_BATCHES_MS)
		sender->byte_limit = BATCH_MAX_BYTES;
	return sender->byte_limit;
}

static int build_batch(struct shipper *shipper, int64_t now, struct batch_plan *plan)
{
	struct sender *sender = &shipper->sender;
	struct batch_builder builder = {
		.device_id = shipper->identity->device_id,
		.device_name = shipper->identity->device_name,
		.hits_only = shipper->options.hits_only,
		.row_limit = sender->row_limit,
	};
	int result;

	sender->writer.max_compressed = batch_byte_limit(sender, now);
	result = batch_build(&builder, sender->outbox, &sender->writer,
			     sender->cursors.acknowledged, timefmt_now_ticks(), plan);
	if (result == -EFBIG && sender->writer.max_compressed < BATCH_MAX_BYTES) {
		/* one row larger than the reduced limit: try it alone at full size */
		sender->writer.max_compressed = BATCH_MAX_BYTES;
		builder.row_limit = 1;
		result = batch_build(&builder, sender->outbox, &sender->writer,
				     sender->cursors.acknowledged, timefmt_now_ticks(), plan);
	}
	if (result == -EFBIG) {
		reject_row(shipper, plan->oversize_kind, plan->oversize_sequence,
			   "larger than a batch may be");
		return -EAGAIN;
	}
	if (result)
		set_error(shipper, "cannot build a batch: %s",
			  result == -ENOMEM ? "out of memory" : cache_outbox_error(sender->outbox));
	return result;
}

static enum step_outcome send_batch(struct shipper *shipper, int64_t now)
{
	struct sender *sender = &shipper->sender;
	struct http_response response;
	struct batch_plan plan = {0};
	const unsigned char *body;
	size_t length;
	int result = build_batch(shipper, now, &plan);

	if (result == -EAGAIN)
		return STEP_AGAIN;
	if (result) {
		retry_later(shipper, NULL, now);
		return STEP_FAILED;
	}
	if (plan.line_count == 0) {
		if (memcmp(plan.last, plan.after, sizeof(plan.last)) != 0)
			apply_plan(shipper, &plan, now); /* only skips: nothing to post */
		sender->last_batch_full = false;
		return STEP_DONE;
	}
	result = batch_writer_finish(&sender->writer, &body, &length);
	if (result) {
		set_error(shipper, "cannot compress a batch: %s", strerror(-result));
		retry_later(shipper, NULL, now);
		return STEP_FAILED;
	}
	http_response_init(&response);
	result = post(shipper, WIRE_PATH_EVENTS, body, length, true, true, &response);
	sender->last_batch_ms = now;
	if (result == -ECANCELED) {
		http_response_free(&response);
		return STEP_FAILED;
	}
	enum step_outcome outcome = STEP_FAILED;

	if (result == 0 && response.status == 200) {
		accept_batch(shipper, &plan, &response, length, now);
		answered(shipper, now);
		sender->last_batch_full = plan.full;
		outcome = plan.full ? STEP_AGAIN : STEP_DONE;
	} else if (result == 0 && (response.status == 413 || response.status == 400)) {
		outcome = refused_batch(shipper, &plan, &response, length, now);
	} else if (result == 0 && response.status == 401) {
		forget_key(shipper);
		answered(shipper, now);
		outcome = shipper->options.enroll_secret_file ? STEP_AGAIN : STEP_FAILED;
		if (outcome == STEP_FAILED)
			retry_later(shipper, &response, now);
	} else {
		describe_failure(shipper, "sending a batch", &response);
		retry_later(shipper, &response, now);
	}
	http_response_free(&response);
	return outcome;
}

/* ---- the sender thread ---------------------------------------------------- */

static bool stopping_now(void *context)
{
	struct shipper *shipper = context;

	return atomic_load(&shipper->stopping) &&
	       monotonic_ms() >= atomic_load(&shipper->drain_until_ms);
}

static bool have_credentials(const struct shipper *shipper)
{
	return shipper->sender.have_key || shipper->options.client_certificate;
}

static int64_t until(int64_t when, int64_t now)
{
	return when > now ? when - now : 0;
}

static int64_t earlier(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* One step; returns how long the sender may sleep (ms). */
static int64_t sender_step(struct shipper *shipper, int64_t now)
{
	struct sender *sender = &shipper->sender;
	enum step_outcome outcome;

	if (!sender->cursors_loaded && open_outbox(shipper) != 0)
		return OPEN_RETRY_MS;
	if (now - sender->last_gap_check_ms >= GAP_CHECK_MS) {
		sender->last_gap_check_ms = now;
		account_front_gaps(shipper, now);
	}
	if (now - sender->last_depth_check_ms >= DEPTH_CHECK_MS) {
		sender->last_depth_check_ms = now;
		measure_depth(shipper);
	}
	if (now < sender->retry_at_ms)
		return earlier(until(sender->retry_at_ms, now), GAP_CHECK_MS);
	if (!have_credentials(shipper)) {
		outcome = enroll(shipper, now);
		return outcome == STEP_AGAIN ? 0 : GAP_CHECK_MS;
	}
	if (sender->outage || now >= sender->next_heartbeat_ms) {
		outcome = send_heartbeat(shipper, now);
		if (outcome != STEP_DONE)
			return outcome == STEP_AGAIN ? 0 : GAP_CHECK_MS;
	}
	if (now < sender->resume_at_ms) {
		sender->stats.state = "spreading";
		return earlier(until(sender->resume_at_ms, now), GAP_CHECK_MS);
	}
	sender->stats.state = "ok";
	if (!rows_wait(shipper))
		return earlier(until(sender->next_heartbeat_ms, now), GAP_CHECK_MS);
	/* a trickle of rows: one request a second, not one per commit */
	if (!sender->last_batch_full && !atomic_load(&shipper->stopping) &&
	    now - sender->last_batch_ms < LINGER_MS)
		return LINGER_MS - (now - sender->last_batch_ms);
	outcome = send_batch(shipper, now);
	if (outcome == STEP_DONE)
		measure_depth(shipper);
	/* after a batch or a failure alike: look again within the second */
	return outcome == STEP_AGAIN ? 0 : GAP_CHECK_MS;
}

static void wait_for_wake(struct shipper *shipper, int64_t timeout_ms)
{
	struct pollfd wake = {.fd = shipper->wake_fd, .events = POLLIN};
	uint64_t count;

	if (timeout_ms <= 0)
		return;
	if (poll(&wake, 1, (int)earlier(timeout_ms, 60000)) > 0 &&
	    read(shipper->wake_fd, &count, sizeof(count)) < 0)
		return;
}

static void *sender_main(void *argument)
{
	struct shipper *shipper = argument;

	for (;;) {
		int64_t now = monotonic_ms();
		bool stopping = atomic_load(&shipper->stopping);
		int64_t sleep_ms;

		if (stopping && (now >= atomic_load(&shipper->drain_until_ms) ||
				 shipper->sender.outage || !rows_wait(shipper)))
			break;
		sleep_ms = sender_step(shipper, now);
		publish_stats(shipper);
		if (stopping && sleep_ms > 0 && !rows_wait(shipper))
			break;
		wait_for_wake(shipper, stopping ? earlier(sleep_ms, 100) : sleep_ms);
	}
	return NULL;
}

/* ---- start and stop ------------------------------------------------------- */

static void load_enrollment(struct shipper *shipper)
{
	struct sender *sender = &shipper->sender;
	char message[256];
	int result = enrollment_load(shipper->enrollment_path, &sender->enrollment, message,
				     sizeof(message));

	if (result < 0) {
		log_warning("%s: %s: enrolling again", shipper->enrollment_path, message);
		return;
	}
	if (result > 0)
		return;
	if (strcmp(sender->enrollment.device_id, shipper->identity->device_id) != 0) {
		log_warning("%s holds the key of DeviceId %s, this device is %s: enrolling again",
			    shipper->enrollment_path, sender->enrollment.device_id,
			    shipper->identity->device_id);
		return;
	}
	sender->have_key = true;
}

static int init_sender(struct shipper *shipper)
{
	struct sender *sender = &shipper->sender;
	struct http_client_options http = {
		.ca_file = shipper->options.ca_file,
		.client_certificate = shipper->options.client_certificate,
		.client_key = shipper->options.client_key,
		.connect_timeout_seconds = CONNECT_TIMEOUT_SECONDS,
		.stall_timeout_seconds = STALL_TIMEOUT_SECONDS,
		.abort = stopping_now,
		.abort_context = shipper,
	};

	if (getrandom(&sender->random, sizeof(sender->random), 0) != sizeof(sender->random))
		sender->random = (uint64_t)time(NULL) ^ (uint64_t)getpid();
	sender->byte_limit = BATCH_MAX_BYTES;
	sender->stats.state = "starting";
	sender->stats.hits_only = shipper->options.hits_only;
	sender->stats.retry_after_seconds = -1;
	batch_writer_init(&sender->writer, BATCH_MAX_BYTES);
	heartbeat_host_facts(&sender->host);
	load_enrollment(shipper);
	return http_client_create(&sender->http, &http);
}

static void free_shipper(struct shipper *shipper)
{
	http_client_destroy(shipper->sender.http);
	cache_outbox_close(shipper->sender.outbox);
	batch_writer_free(&shipper->sender.writer);
	explicit_bzero(&shipper->sender.enrollment, sizeof(shipper->sender.enrollment));
	if (shipper->wake_fd >= 0)
		close(shipper->wake_fd);
	pthread_mutex_destroy(&shipper->lock);
	free(shipper->status_text);
	free(shipper);
}

int shipper_start(struct shipper **out, const struct shipper_context *context, char *message,
		  size_t message_size)
{
	struct shipper *shipper = calloc(1, sizeof(*shipper));
	int result;

	if (!shipper) {
		snprintf(message, message_size, "out of memory");
		return -ENOMEM;
	}
	shipper->options = *context->options;
	shipper->identity = context->identity;
	snprintf(shipper->cache_path, sizeof(shipper->cache_path), "%s", context->cache_path);
	snprintf(shipper->outbox_path, sizeof(shipper->outbox_path), "%s/%s", context->state_dir,
		 OUTBOX_STATE_FILE_NAME);
	snprintf(shipper->enrollment_path, sizeof(shipper->enrollment_path), "%s/%s",
		 context->state_dir, ENROLLMENT_FILE_NAME);
	pthread_mutex_init(&shipper->lock, NULL);
	shipper->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	shipper_publish_status(shipper, "{}");
	if (shipper->wake_fd < 0) {
		result = -errno;
		snprintf(message, message_size, "cannot create an eventfd: %s", strerror(-result));
		free_shipper(shipper);
		return result;
	}
	shipper_publish(shipper, &context->committed);
	result = init_sender(shipper);
	if (result) {
		snprintf(message, message_size, "cannot set up libcurl: %s", strerror(-result));
		free_shipper(shipper);
		return result;
	}
	if (!have_credentials(shipper) && !shipper->options.enroll_secret_file) {
		snprintf(message, message_size,
			 "--collector: this host is not enrolled (no key in %s): give "
			 "--enroll-secret-file F (or --client-cert and --client-key)",
			 shipper->enrollment_path);
		free_shipper(shipper);
		return -EINVAL;
	}
	publish_stats(shipper);
	result = -pthread_create(&shipper->thread, NULL, sender_main, shipper);
	if (result) {
		snprintf(message, message_size, "cannot start the sender thread: %s",
			 strerror(-result));
		free_shipper(shipper);
		return result;
	}
	*out = shipper;
	return 0;
}

void shipper_stop(struct shipper *shipper, unsigned drain_ms)
{
	uint64_t one = 1;

	if (!shipper)
		return;
	atomic_store(&shipper->drain_until_ms, monotonic_ms() + drain_ms);
	atomic_store(&shipper->stopping, true);
	if (write(shipper->wake_fd, &one, sizeof(one)) < 0)
		log_debug("cannot wake the sender: %s", strerror(errno));
	pthread_join(shipper->thread, NULL);
	free_shipper(shipper);
}
