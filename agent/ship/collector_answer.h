/*
 * collector_answer.h - what the collector answers, read by the shipper.
 *
 * Every body comes from the network, so each is parsed strictly and
 * bounded: an answer that is not what docs/fleet.md says is an error with
 * a reason, never a crash or a guess.  Text repeated from an answer into a
 * log line or status.json is cut to COLLECTOR_ANSWER_ECHO_MAX bytes (and
 * log.h escapes control characters).
 */
#ifndef RMMHUNT_AGENT_SHIP_COLLECTOR_ANSWER_H
#define RMMHUNT_AGENT_SHIP_COLLECTOR_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "model/device.h"
#include "wire/wire.h"

#define COLLECTOR_ANSWER_ECHO_MAX 160

/* 200 to POST /v1/events. */
struct events_answer {
	uint64_t records, hits, summaries, duplicates;
};

/* 0, or -EINVAL with a reason in message. */
int collector_answer_events(const char *text, size_t length, struct events_answer *answer,
			    char *message, size_t message_size);

/*
 * 200 to POST /v1/enroll: {"device_id": ..., "device_key": ...}.  The
 * DeviceId must be the one asked for and the key 43 base64url characters.
 * 0 with key filled, or -EINVAL with a reason in message.
 */
int collector_answer_enroll(const char *text, size_t length, const char *device_id,
			    char key[WIRE_DEVICE_KEY_TEXT + 1], char *message,
			    size_t message_size);

/*
 * The message of an error body ({"error": {"code": N, "message": "..."}}),
 * cut to COLLECTOR_ANSWER_ECHO_MAX bytes, into message; the empty string
 * when the body is not one.
 */
void collector_answer_error(const char *text, size_t length, char *message,
			    size_t message_size);

/* Is text a device key (43 base64url characters)? */
int collector_answer_check_key(const char *text);

#endif
