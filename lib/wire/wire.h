/*
 * wire.h - the agent-to-collector batch format, shared by both sides.
 *
 * A batch is gzip'd NDJSON (docs/fleet.md): a header line, then one line per
 * record, hit or rule summary.  The agent writes batches with
 * wire/batch_writer.h; the collector checks and reads them with
 * wire/batch_reader.h.  This header holds what both must agree on.
 */
#ifndef RMMHUNT_WIRE_H
#define RMMHUNT_WIRE_H

/* Version of the batch, heartbeat and enrollment bodies ("schema": 1). */
#define WIRE_SCHEMA_VERSION 1

/* The API's path prefix and endpoints. */
#define WIRE_PATH_ENROLL "/v1/enroll"
#define WIRE_PATH_EVENTS "/v1/events"
#define WIRE_PATH_HEARTBEAT "/v1/heartbeat"
#define WIRE_PATH_QUERY "/v1/query"
#define WIRE_PATH_DEVICES "/v1/devices"
#define WIRE_PATH_HEALTH "/healthz"
#define WIRE_PATH_METRICS "/metrics"

/* Line kinds after the header. */
#define WIRE_KIND_RECORD "record"
#define WIRE_KIND_HIT "hit"
#define WIRE_KIND_SUMMARY "summary"

/* A batch as the agent sends it: at most this many bytes compressed. */
#define WIRE_BATCH_MAX_COMPRESSED (1000 * 1000)

/* The collector's defaults for what it accepts. */
#define WIRE_DEFAULT_MAX_BODY (4L * 1024 * 1024)
#define WIRE_DEFAULT_MAX_DECOMPRESSED (64L * 1024 * 1024)

/* A device key: 32 random bytes as base64url without padding. */
#define WIRE_DEVICE_KEY_BYTES 32
#define WIRE_DEVICE_KEY_TEXT 43

/* A device is silent after this many missed heartbeat intervals. */
#define WIRE_SILENT_INTERVALS 3

#endif
