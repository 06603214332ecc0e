/*
 * server.h - the collector's HTTP(S) front: libmicrohttpd, TLS 1.2+.
 *
 * A small pool of HTTP threads (epoll) moves bytes; as soon as a request's
 * headers are in, its route, its credentials, its size and the connection
 * count are checked (an answer that needs no body is given before the body
 * is read); the whole request then goes to a worker pool (workers.h) while
 * its connection is suspended.  Slow and idle clients are cut: idle ones
 * by libmicrohttpd's timeout, slow ones (headers or body trickling in, a
 * response read slowly) by server_sweep() past --request-timeout.  Over
 * --max-connections, requests get 503 with Retry-After.
 */
#ifndef RMMHUNT_COLLECTOR_SERVER_H
#define RMMHUNT_COLLECTOR_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "api.h"

struct server_options {
	const char *listen; /* HOST:PORT, [IPv6]:PORT */
	bool insecure_http; /* plain HTTP: only on a loopback address */
	const char *tls_cert, *tls_key, *client_ca;
	int max_connections;
	unsigned idle_timeout;	  /* seconds */
	unsigned request_timeout; /* seconds */
	int http_threads, write_workers, read_workers;
};

struct server;

/* Binds and starts serving.  0, or a negative errno with a sentence. */
int server_start(struct server **out, const struct server_options *options,
		 struct api_context *api, char *message, size_t message_size);
/* The port bound (useful with port 0). */
unsigned server_port(const struct server *server);
/* Cuts connections past --request-timeout; call about once a second. */
void server_sweep(struct server *server);
/* Stops accepting, answers what is in flight, stops. */
void server_stop(struct server *server);

#endif
