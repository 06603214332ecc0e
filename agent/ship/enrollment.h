/*
 * enrollment.h - the agent's device key: STATE_DIR/enrollment.json.
 *
 * An agent without a device key posts the fleet's enrollment secret (the
 * first line of --enroll-secret-file) with its DeviceId to /v1/enroll; the
 * collector answers with a device key for that DeviceId (docs/fleet.md).
 * The key is kept in enrollment.json (0600, replaced atomically) with the
 * collector that issued it, the DeviceId and when:
 *
 *   {"schema": 1, "collector": "https://...", "device_id": "40 hex",
 *    "device_key": "43 base64url", "enrolled": "2026-12-05T10:00:00.0000000Z"}
 *
 * A key for another DeviceId (the machine id changed) is not used.  A 401
 * later means the key was revoked or the collector forgot it: the shipper
 * enrolls again when the secret file can still be read, and counts it.
 */
#ifndef RMMHUNT_AGENT_SHIP_ENROLLMENT_H
#define RMMHUNT_AGENT_SHIP_ENROLLMENT_H

#include <stddef.h>
#include <stdint.h>

#include "base/strbuf.h"
#include "model/device.h"
#include "wire/wire.h"

#define ENROLLMENT_FILE_NAME "enrollment.json"
#define ENROLLMENT_SCHEMA 1
#define ENROLLMENT_URL_MAX 512
#define ENROLLMENT_SECRET_MAX 1024

struct enrollment {
	char collector[ENROLLMENT_URL_MAX];
	char device_id[DEVICE_ID_SIZE];
	char device_key[WIRE_DEVICE_KEY_TEXT + 1];
	int64_t enrolled_ticks;
};

/* Parse enrollment.json's text: 0, or -EINVAL with a reason in message. */
int enrollment_parse(const char *text, size_t length, struct enrollment *enrollment,
		     char *message, size_t message_size);
void enrollment_format(const struct enrollment *enrollment, struct strbuf *out);

/* Load path: 0, 1 when there is none, or a negative errno with a reason. */
int enrollment_load(const char *path, struct enrollment *enrollment, char *message,
		    size_t message_size);
int enrollment_save(const char *path, const struct enrollment *enrollment);

/*
 * The secret: the first line of path, without surrounding blanks, into a
 * malloc'd *secret.  0, or a negative errno with a reason in message
 * (missing, unreadable, empty).  Warns (log.h) when others may read it.
 */
int enrollment_read_secret(const char *path, char **secret, char *message,
			   size_t message_size);

/* The body of POST /v1/enroll. */
void enrollment_request_body(struct strbuf *out, const char *secret,
			     const struct device_identity *identity, const char *agent_version);

#endif
