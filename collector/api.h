/*
 * api.h - the collector's endpoints (docs/fleet.md), apart from HTTP.
 *
 * server.c receives a request (routing and credentials are checked as soon
 * as its headers are in, before its body is read), then hands the whole
 * request to a worker thread that calls api_handle().  Every answer is
 * JSON (text for /healthz and /metrics); errors are
 * {"error": {"code": N, "message": "..."}} and never echo a value.
 */
#ifndef RMMHUNT_COLLECTOR_API_H
#define RMMHUNT_COLLECTOR_API_H

#include <stdbool.h>
#include <stddef.h>

#include "base/strbuf.h"
#include "metrics.h"
#include "secrets.h"
#include "store.h"
#include "wire/batch_reader.h"

struct api_limits {
	size_t max_body;	 /* bytes as sent */
	size_t max_decompressed; /* bytes after gunzip */
	int retry_after_seconds; /* in 503 answers */
};

struct api_context {
	struct store *store;
	struct secrets *secrets;
	struct api_limits limits;
};

struct api_request {
	enum metrics_endpoint endpoint;
	const char *body;
	size_t body_length;
	bool gzip;			     /* Content-Encoding: gzip */
	char device_id[BATCH_ID_MAX + 1]; /* the device the credentials name */
	const char *peer;		     /* the client's address, as text */
	double body_done;		     /* monotonic seconds when the body was in */
};

struct api_response {
	int status;
	const char *content_type;
	int retry_after; /* seconds; 0: no Retry-After header */
	struct strbuf body;
};

void api_response_init(struct api_response *response);
void api_response_free(struct api_response *response);
/* An error answer: status and a sentence. */
void api_error(struct api_response *response, int status, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * The endpoint of method and path: 0, or the status to answer (404 no such
 * endpoint, 405 wrong method) with response filled.
 */
int api_route(const char *method, const char *path, enum metrics_endpoint *endpoint,
	      struct api_response *response);

/*
 * Checks the credentials for endpoint: authorization is the Authorization
 * header (or NULL), certificate_device the DeviceId a verified client
 * certificate names (or NULL).  0 with request->device_id filled for a
 * device; else the status (401, 403) with response filled.
 */
int api_authenticate(struct api_context *context, struct api_request *request,
		     const char *authorization, const char *certificate_device,
		     struct api_response *response);

/* Does the endpoint take a body?  (Content-Encoding matters only then.) */
bool api_takes_body(enum metrics_endpoint endpoint);

/* Runs the request (in a worker thread). */
void api_handle(struct api_context *context, const struct api_request *request,
		struct api_response *response);

#endif
