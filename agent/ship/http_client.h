/*
 * http_client.h - the shipper's HTTPS client (libcurl, OpenSSL).
 *
 * One client, one curl handle, used by the sender thread only: the
 * connection to the collector stays open between requests.  Peers are
 * verified (certificate chain against --ca-file or the system store, and
 * host name); TLS 1.2 at least; no redirects.  Plain http:// is refused
 * unless the host is a loopback address, the collector's own rule for
 * --insecure-http.  A transfer is aborted when the caller's abort callback
 * says so (the agent stops), and times out when the collector stalls.
 */
#ifndef RMMHUNT_AGENT_SHIP_HTTP_CLIENT_H
#define RMMHUNT_AGENT_SHIP_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/strbuf.h"

#define HTTP_ANSWER_MAX_BYTES ((size_t)64 * 1024)

struct http_client_options {
	const char *ca_file; /* NULL: the system's trust store */
	const char *client_certificate, *client_key; /* mutual TLS, or NULL */
	long connect_timeout_seconds;
	long stall_timeout_seconds; /* no byte moved this long: give up */
	/* true: abort the transfer now */
	bool (*abort)(void *context);
	void *abort_context;
};

struct http_response {
	long status; /* 0: no answer (transport_error says why) */
	struct strbuf body; /* at most HTTP_ANSWER_MAX_BYTES */
	int64_t retry_after_seconds; /* -1: none */
	char transport_error[256];
};

struct http_request {
	const char *base_url; /* a --collector URL */
	const char *path; /* "/v1/events" */
	const char *bearer; /* NULL: no Authorization header */
	const char *content_type;
	bool gzip; /* the body is gzip'd */
	const void *body;
	size_t length;
};

struct http_client;

/* 0, -ENOMEM, or -EIO when libcurl cannot be set up. */
int http_client_create(struct http_client **out, const struct http_client_options *options);
void http_client_destroy(struct http_client *client);

void http_response_init(struct http_response *response);
void http_response_free(struct http_response *response);

/*
 * POST.  Returns 0 when the collector answered (any status: see
 * response->status), or -EIO with response->transport_error set (no
 * connection, TLS failure, timeout), -ECANCELED when aborted, -ENOMEM.
 */
int http_client_post(struct http_client *client, const struct http_request *request,
		     struct http_response *response);

/*
 * Is url a collector URL the agent may use: https://HOST[:PORT][/PREFIX],
 * or http:// to a loopback address (127.0.0.0/8, ::1, localhost); no user
 * name, query or fragment.  0, or -EINVAL with a reason in message.
 */
int http_check_collector_url(const char *url, char *message, size_t message_size);

#endif
