/*
 * fuzz_agent_ship.c - everything the shipper parses: its state files
 * (enrollment.json, outbox.json), the collector's answers (events, enroll,
 * error bodies, Retry-After), and the summaries it turns into batch lines.
 *
 * The first byte picks the parser, the rest is its input.  What parses
 * must format back to text that parses to the same thing; nothing may
 * crash, leak or read out of bounds (ASan, UBSan).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ship/backoff.h"
#include "ship/collector_answer.h"
#include "ship/enrollment.h"
#include "ship/outbox_state.h"
#include "wire/batch_writer.h"

#define DEVICE "0123456789abcdef0123456789abcdef01234567"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void outbox_file(const char *text, size_t length)
{
	struct outbox_state state, again;
	struct strbuf formatted;
	char message[256];

	if (outbox_state_parse(text, length, &state, message, sizeof(message)) != 0)
		return;
	strbuf_init(&formatted);
	outbox_state_format(&state, &formatted);
	if (outbox_state_parse(formatted.data, formatted.length, &again, message,
			       sizeof(message)) != 0 ||
	    memcmp(&state, &again, sizeof(state)) != 0)
		abort();
	strbuf_free(&formatted);
}

static void enrollment_file(const char *text, size_t length)
{
	struct enrollment enrollment, again;
	struct strbuf formatted;
	char message[256];

	if (enrollment_parse(text, length, &enrollment, message, sizeof(message)) != 0)
		return;
	strbuf_init(&formatted);
	enrollment_format(&enrollment, &formatted);
	if (enrollment_parse(formatted.data, formatted.length, &again, message,
			     sizeof(message)) != 0 ||
	    strcmp(enrollment.device_key, again.device_key) != 0 ||
	    strcmp(enrollment.collector, again.collector) != 0)
		abort();
	strbuf_free(&formatted);
}

static void answers(const char *text, size_t length)
{
	struct events_answer events;
	char key[WIRE_DEVICE_KEY_TEXT + 1], message[256];

	collector_answer_events(text, length, &events, message, sizeof(message));
	if (collector_answer_enroll(text, length, DEVICE, key, message, sizeof(message)) == 0 &&
	    collector_answer_check_key(key) != 0)
		abort();
	collector_answer_error(text, length, message, sizeof(message));
	if (strlen(message) > COLLECTOR_ANSWER_ECHO_MAX)
		abort();
}

static void retry_after(const char *text)
{
	int64_t seconds = -1;

	if (backoff_parse_retry_after(text, 946684799, &seconds) == 0 &&
	    (seconds < 0 || seconds > 24 * 3600))
		abort();
}

/* columns NUL rows: a summary as the cache holds it, into a batch line */
static void summary(const char *text, size_t length)
{
	static const struct batch_rule_text rule = {"rule", "Rule", "", ""};
	const char *rows = memchr(text, '\0', length);
	struct batch_writer writer;
	struct batch_header header = {"id", DEVICE, "host", 0};

	if (!rows)
		return;
	batch_writer_init(&writer, 64 * 1024);
	if (batch_writer_begin(&writer, &header) == 0)
		batch_writer_add_summary(&writer, &rule, 0, text, rows + 1);
	batch_writer_free(&writer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size < 1)
		return 0;
	/* a NUL-terminated copy: some parsers take C strings */
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 5) {
	case 0:
		outbox_file(text, size - 1);
		break;
	case 1:
		enrollment_file(text, size - 1);
		break;
	case 2:
		answers(text, size - 1);
		break;
	case 3:
		retry_after(text);
		break;
	default:
		summary(text, size - 1);
		break;
	}
	free(text);
	return 0;
}
