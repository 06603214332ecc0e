/*
 * server.c - libmicrohttpd, connection accounting, suspend/resume around
 * the worker pools (server.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "base/log.h"
#include "client_cert.h"
#include "server.h"
#include "workers.h"

#define CONNECTION_SLACK 64	       /* accepted beyond --max-connections, answered 503 */
#define EARLY_ANSWER_READ_MAX 65536 /* bodies up to this are read before an early answer */
#define CONNECTION_MEMORY (256 * 1024)
#define QUEUE_PER_WORKER 64
#define STOP_WAIT_SECONDS 30
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define FILE_MAX (1 << 20)

enum phase {
	PHASE_WAITING,	  /* for a request's headers (or the TLS handshake) */
	PHASE_RECEIVING,  /* a request's body */
	PHASE_PROCESSING, /* in a worker: no deadline */
	PHASE_ANSWERING,  /* sending the answer */
	PHASE_CUT,
};

struct tracked {
	struct MHD_Connection *connection;
	int fd;
	enum phase phase;
	double phase_started;
	struct tracked *prev, *next;
};

struct request {
	struct work work; /* first: a worker gets the request from its work */
	struct server *server;
	struct MHD_Connection *connection;
	struct tracked *tracked;
	struct api_request api;
	struct api_response response;
	struct strbuf body;
	char peer[INET6_ADDRSTRLEN + 8];
	bool answer_ready; /* response holds what to send */
	bool submitted;
	bool counted_in_flight;
};

struct server {
	struct server_options options;
	struct api_context *api;
	struct MHD_Daemon *daemon;
	struct workers *writers, *readers;
	char *certificate, *key, *trust;
	unsigned port;
	pthread_mutex_t lock; /* the tracked list, phases, counts */
	struct tracked *connections;
	int connection_count;
	int in_flight;
	bool stopping;
};

static double monotonic_seconds(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static void set_phase(struct server *server, struct tracked *tracked, enum phase phase)
{
	if (!tracked)
		return;
	pthread_mutex_lock(&server->lock);
	if (tracked->phase != PHASE_CUT) {
		tracked->phase = phase;
		tracked->phase_started = monotonic_seconds();
	}
	pthread_mutex_unlock(&server->lock);
}

/* ---- answers ---------------------------------------------------------------- */

static enum MHD_Result send_answer(struct request *request)
{
	struct api_response *response = &request->response;
	struct MHD_Response *answer = MHD_create_response_from_buffer(
		response->body.length, response->body.data ? response->body.data : (void *)"",
		MHD_RESPMEM_MUST_COPY);
	enum MHD_Result result;
	char seconds[16];

	if (!answer)
		return MHD_NO;
	MHD_add_response_header(answer, MHD_HTTP_HEADER_CONTENT_TYPE, response->content_type);
	if (response->retry_after > 0) {
		snprintf(seconds, sizeof(seconds), "%d", response->retry_after);
		MHD_add_response_header(answer, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
	}
	MHD_add_response_header(answer, "Cache-Control", "no-store");
	metrics_count_request(request->api.endpoint, response->status);
	set_phase(request->server, request->tracked, PHASE_ANSWERING);
	result = MHD_queue_response(request->connection, (unsigned)response->status, answer);
	MHD_destroy_response(answer);
	return result;
}

/* ---- a request's life --------------------------------------------------------- */

static void run_request(struct work *work)
{
	struct request *request = (struct request *)work;

	request->api.body = request->body.data ? request->body.data : "";
	request->api.body_length = request->body.length;
	api_handle(request->server->api, &request->api, &request->response);
	request->answer_ready = true;
	MHD_resume_connection(request->connection);
}

static bool is_read_endpoint(enum metrics_endpoint endpoint)
{
	return endpoint == ENDPOINT_QUERY || endpoint == ENDPOINT_DEVICES;
}

static enum MHD_Result submit(struct request *request)
{
	struct server *server = request->server;
	struct workers *pool = is_read_endpoint(request->api.endpoint) ? server->readers
									: server->writers;
	int result;

	request->api.body_done = monotonic_seconds();
	request->work.run = run_request;
	request->submitted = true;
	set_phase(server, request->tracked, PHASE_PROCESSING);
	MHD_suspend_connection(request->connection);
	pthread_mutex_lock(&server->lock);
	result = server->stopping ? -ESHUTDOWN : workers_submit(pool, &request->work);
	if (result == 0) {
		server->in_flight++;
		request->counted_in_flight = true;
	}
	pthread_mutex_unlock(&server->lock);
	if (result == 0)
		return MHD_YES;
	request->response.retry_after = server->api->limits.retry_after_seconds;
	api_error(&request->response, 503,
		  result == -EBUSY ? "too many requests waiting: retry later"
				   : "the collector is stopping: retry later");
	request->answer_ready = true;
	MHD_resume_connection(request->connection);
	return MHD_YES;
}

static void peer_address(struct MHD_Connection *connection, char *text, size_t size)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	text[0] = '\0';
	if (!info || !info->client_addr)
		return;
	socklen_t length = info->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
								    : sizeof(struct sockaddr_in);

	if (getnameinfo(info->client_addr, length, text, (socklen_t)size, NULL, 0,
			NI_NUMERICHOST) != 0)
		text[0] = '\0';
}

/* The DeviceId of a verified client certificate; -ENOENT none; -EACCES bad. */
static int certificate_device(struct server *server, struct MHD_Connection *connection,
			      char device_id[BATCH_ID_MAX + 1], char *message, size_t size)
{
	const union MHD_ConnectionInfo *info;

	if (!server->trust)
		return -ENOENT;
	info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!info || !info->tls_session)
		return -ENOENT;
	return client_cert_device((gnutls_session_t)info->tls_session, device_id, message, size);
}

static const char *header(struct MHD_Connection *connection, const char *name)
{
	return MHD_lookup_connection_value(connection, MHD_HEADER_KIND, name);
}

/* Checks made on the headers alone: 0 go on, else response holds the answer. */
static int check_headers(struct request *request, const char *method, const char *url)
{
	struct server *server = request->server;
	struct api_response *response = &request->response;
	const char *length = header(request->connection, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *encoding = header(request->connection, MHD_HTTP_HEADER_CONTENT_ENCODING);
	char device_id[BATCH_ID_MAX + 1], message[256];
	int certificate, status;
	bool crowded;

	pthread_mutex_lock(&server->lock);
	crowded = server->connection_count > server->options.max_connections;
	pthread_mutex_unlock(&server->lock);
	if (crowded) {
		metrics_add(COUNTER_CONNECTIONS_REFUSED, 1);
		response->retry_after = server->api->limits.retry_after_seconds;
		api_error(response, 503, "too many connections: retry later");
		return 503;
	}
	status = api_route(method, url, &request->api.endpoint, response);
	if (status)
		return status;
	if (length && strtoull(length, NULL, 10) > server->api->limits.max_body) {
		api_error(response, 413, "the body is larger than %zu bytes (--max-body)",
			  server->api->limits.max_body);
		return 413;
	}
	if (api_takes_body(request->api.endpoint) && encoding && strcasecmp(encoding, "gzip") != 0 &&
	    strcasecmp(encoding, "identity") != 0) {
		api_error(response, 415, "Content-Encoding must be gzip or identity");
		return 415;
	}
	request->api.gzip = encoding && strcasecmp(encoding, "gzip") == 0;
	certificate = certificate_device(server, request->connection, device_id, message,
					 sizeof(message));
	if (certificate == -EACCES) {
		api_error(response, 401, "%s", message);
		return 401;
	}
	return api_authenticate(server->api, &request->api,
				header(request->connection, MHD_HTTP_HEADER_AUTHORIZATION),
				certificate == 0 ? device_id : NULL, response);
}

static struct request *new_request(struct server *server, struct MHD_Connection *connection)
{
	struct request *request = calloc(1, sizeof(*request));
	const union MHD_ConnectionInfo *info;

	if (!request)
		return NULL;
	request->server = server;
	request->connection = connection;
	info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	request->tracked = info ? info->socket_context : NULL;
	api_response_init(&request->response);
	strbuf_init(&request->body);
	peer_address(connection, request->peer, sizeof(request->peer));
	request->api.peer = request->peer;
	set_phase(server, request->tracked, PHASE_RECEIVING);
	return request;
}

/* An answer decided on the headers: small bodies are read first, so the
 * client sees the answer rather than a reset connection. */
static enum MHD_Result answer_early(struct request *request)
{
	const char *length = header(request->connection, MHD_HTTP_HEADER_CONTENT_LENGTH);

	request->answer_ready = true;
	if (length && strtoull(length, NULL, 10) > 0 &&
	    strtoull(length, NULL, 10) <= EARLY_ANSWER_READ_MAX && request->response.status != 413)
		return MHD_YES; /* answered once the body is in */
	return send_answer(request);
}

static enum MHD_Result on_request(void *context, struct MHD_Connection *connection,
				  const char *url, const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **request_context)
{
	struct server *server = context;
	struct request *request = *request_context;

	(void)version;
	if (!request) {
		request = new_request(server, connection);
		if (!request)
			return MHD_NO;
		*request_context = request;
		if (check_headers(request, method, url) != 0)
			return answer_early(request);
		/* authenticated and within --max-body: room for the body at once */
		const char *length = header(connection, MHD_HTTP_HEADER_CONTENT_LENGTH);

		if (length)
			strbuf_reserve(&request->body, (size_t)strtoull(length, NULL, 10));
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t size = *upload_data_size;

		*upload_data_size = 0;
		metrics_add(COUNTER_BYTES_IN, size);
		if (request->answer_ready)
			return MHD_YES; /* an early answer waits for the body's end */
		if (request->body.length + size > server->api->limits.max_body)
			return MHD_NO; /* chunked past the limit: cut */
		strbuf_append(&request->body, upload_data, size);
		return request->body.failed ? MHD_NO : MHD_YES;
	}
	if (request->answer_ready)
		return send_answer(request);
	if (!request->submitted)
		return submit(request);
	return MHD_YES;
}

static void on_completed(void *context, struct MHD_Connection *connection,
			 void **request_context, enum MHD_RequestTerminationCode code)
{
	struct server *server = context;
	struct request *request = *request_context;

	(void)connection;
	(void)code;
	if (!request)
		return;
	pthread_mutex_lock(&server->lock);
	if (request->counted_in_flight)
		server->in_flight--;
	if (request->tracked && request->tracked->phase != PHASE_CUT) {
		request->tracked->phase = PHASE_WAITING;
		request->tracked->phase_started = monotonic_seconds();
	}
	pthread_mutex_unlock(&server->lock);
	api_response_free(&request->response);
	strbuf_free(&request->body);
	free(request);
	*request_context = NULL;
}

static void on_connection(void *context, struct MHD_Connection *connection,
			  void **socket_context, enum MHD_ConnectionNotificationCode code)
{
	struct server *server = context;
	struct tracked *tracked = *socket_context;

	pthread_mutex_lock(&server->lock);
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *info =
			MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);

		tracked = calloc(1, sizeof(*tracked));
		if (tracked) {
			tracked->connection = connection;
			tracked->fd = info ? info->connect_fd : -1;
			tracked->phase = PHASE_WAITING;
			tracked->phase_started = monotonic_seconds();
			tracked->next = server->connections;
			if (server->connections)
				server->connections->prev = tracked;
			server->connections = tracked;
		}
		*socket_context = tracked;
		server->connection_count++;
	} else {
		if (tracked) {
			if (tracked->prev)
				tracked->prev->next = tracked->next;
			else
				server->connections = tracked->next;
			if (tracked->next)
				tracked->next->prev = tracked->prev;
			free(tracked);
		}
		*socket_context = NULL;
		server->connection_count--;
	}
	metrics_set_connections(server->connection_count);
	pthread_mutex_unlock(&server->lock);
}

void server_sweep(struct server *server)
{
	double now = monotonic_seconds();

	pthread_mutex_lock(&server->lock);
	for (struct tracked *tracked = server->connections; tracked; tracked = tracked->next) {
		if (tracked->phase == PHASE_PROCESSING || tracked->phase == PHASE_CUT ||
		    now - tracked->phase_started <= server->options.request_timeout)
			continue;
		/* libmicrohttpd sees the end of the stream and closes it itself */
		if (tracked->fd >= 0)
			shutdown(tracked->fd, SHUT_RDWR);
		tracked->phase = PHASE_CUT;
		metrics_add(COUNTER_CONNECTIONS_CUT, 1);
	}
	pthread_mutex_unlock(&server->lock);
}

/* ---- starting and stopping ------------------------------------------------------ */

static void log_from_microhttpd(void *context, const char *format, va_list arguments)
{
	char text[512];
	size_t length;

	(void)context;
	if (!log_enabled(LOG_LEVEL_DEBUG))
		return;
	vsnprintf(text, sizeof(text), format, arguments);
	length = strlen(text);
	while (length > 0 && text[length - 1] == '\n')
		text[--length] = '\0';
	log_debug("http: %s", text);
}

static int read_file(const char *path, char **out, char *message, size_t message_size)
{
	struct strbuf text;
	int result;

	strbuf_init(&text);
	result = strbuf_read_file(&text, path, FILE_MAX);
	if (result) {
		snprintf(message, message_size, "cannot read %s: %s", path,
			 result == -EFBIG ? "larger than 1 MiB" : strerror(-result));
		strbuf_free(&text);
		return result;
	}
	*out = text.data; /* the strbuf's buffer, NUL-terminated, now ours */
	return 0;
}

static bool is_loopback(const struct sockaddr *address)
{
	if (address->sa_family == AF_INET) {
		const struct sockaddr_in *ipv4 = (const struct sockaddr_in *)address;

		return (ntohl(ipv4->sin_addr.s_addr) >> 24) == 127;
	}
	if (address->sa_family == AF_INET6) {
		const struct sockaddr_in6 *ipv6 = (const struct sockaddr_in6 *)address;

		return IN6_IS_ADDR_LOOPBACK(&ipv6->sin6_addr);
	}
	return false;
}

/* HOST:PORT or [HOST]:PORT -> a socket address. */
static int resolve_listen(const char *listen, struct sockaddr_storage *address, char *message,
			  size_t message_size)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *found = NULL;
	size_t host_length;
	int code;

	if (!colon || colon == listen || !colon[1]) {
		snprintf(message, message_size, "--listen %s: expected HOST:PORT", listen);
		return -EINVAL;
	}
	host_length = (size_t)(colon - listen);
	if (listen[0] == '[' && host_length >= 2 && listen[host_length - 1] == ']') {
		listen++;
		host_length -= 2;
	}
	if (host_length >= sizeof(host)) {
		snprintf(message, message_size, "--listen: host name too long");
		return -EINVAL;
	}
	memcpy(host, listen, host_length);
	host[host_length] = '\0';
	code = getaddrinfo(host, colon + 1, &hints, &found);
	if (code != 0 || !found) {
		snprintf(message, message_size, "--listen %s: %s", host, gai_strerror(code));
		return -EINVAL;
	}
	memcpy(address, found->ai_addr, found->ai_addrlen);
	freeaddrinfo(found);
	return 0;
}

static int load_tls(struct server *server, char *message, size_t message_size)
{
	const struct server_options *options = &server->options;
	int result;

	if (!options->tls_cert || !options->tls_key) {
		snprintf(message, message_size,
			 "HTTPS needs --tls-cert and --tls-key (plain HTTP only with --insecure-http"
			 " on a loopback address)");
		return -EINVAL;
	}
	result = read_file(options->tls_cert, &server->certificate, message, message_size);
	if (result == 0)
		result = read_file(options->tls_key, &server->key, message, message_size);
	if (result == 0 && options->client_ca)
		result = read_file(options->client_ca, &server->trust, message, message_size);
	return result;
}

static int check_transport(struct server *server, const struct sockaddr *address, char *message,
			   size_t message_size)
{
	if (!server->options.insecure_http)
		return load_tls(server, message, message_size);
	if (!is_loopback(address)) {
		snprintf(message, message_size,
			 "--insecure-http: refusing plain HTTP on %s, which is not a loopback"
			 " address (127.0.0.0/8, ::1): device keys and command lines would cross"
			 " the network in clear; use --tls-cert and --tls-key",
			 server->options.listen);
		return -EPERM;
	}
	if (server->options.client_ca) {
		snprintf(message, message_size, "--client-ca needs HTTPS (not --insecure-http)");
		return -EINVAL;
	}
	log_warning("plain HTTP on %s (--insecure-http): for tests on this machine only",
		    server->options.listen);
	return 0;
}

static struct MHD_Daemon *start_daemon(struct server *server, const struct sockaddr *address)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	const struct server_options *options = &server->options;
	struct MHD_OptionItem tls[5];
	size_t count = 0;

	if (address->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (!options->insecure_http) {
		flags |= MHD_USE_TLS;
		tls[count++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0,
						       server->certificate};
		tls[count++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, server->key};
		tls[count++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
						       (void *)TLS_PRIORITIES};
		if (server->trust)
			tls[count++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0,
							       server->trust};
	}
	tls[count] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	return MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, server, MHD_OPTION_SOCK_ADDR, address,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)options->http_threads,
		MHD_OPTION_CONNECTION_LIMIT,
		(unsigned int)(options->max_connections + CONNECTION_SLACK),
		MHD_OPTION_CONNECTION_TIMEOUT, options->idle_timeout,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, 256U, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
		server, MHD_OPTION_NOTIFY_CONNECTION, on_connection, server,
		MHD_OPTION_EXTERNAL_LOGGER, log_from_microhttpd, server, MHD_OPTION_ARRAY, tls,
		MHD_OPTION_END);
}

static void free_server(struct server *server)
{
	workers_stop(server->writers);
	workers_stop(server->readers);
	free(server->certificate);
	if (server->key) {
		explicit_bzero(server->key, strlen(server->key));
		free(server->key);
	}
	free(server->trust);
	pthread_mutex_destroy(&server->lock);
	free(server);
}

int server_start(struct server **out, const struct server_options *options,
		 struct api_context *api, char *message, size_t message_size)
{
	struct server *server = calloc(1, sizeof(*server));
	struct sockaddr_storage address;
	int result;

	if (!server)
		return -ENOMEM;
	server->options = *options;
	server->api = api;
	pthread_mutex_init(&server->lock, NULL);
	result = resolve_listen(options->listen, &address, message, message_size);
	if (result == 0)
		result = check_transport(server, (struct sockaddr *)&address, message, message_size);
	if (result == 0)
		result = workers_start(&server->writers, options->write_workers,
				       (size_t)options->write_workers * QUEUE_PER_WORKER);
	if (result == 0)
		result = workers_start(&server->readers, options->read_workers,
				       (size_t)options->read_workers * QUEUE_PER_WORKER);
	if (result == 0) {
		server->daemon = start_daemon(server, (struct sockaddr *)&address);
		if (!server->daemon) {
			snprintf(message, message_size,
				 "cannot serve on %s (address in use, not this host's, or the TLS"
				 " certificate/key not usable; --log-level debug tells more)",
				 options->listen);
			result = -EADDRNOTAVAIL;
		}
	}
	if (result) {
		free_server(server);
		return result;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(server->daemon,
							       MHD_DAEMON_INFO_BIND_PORT);

	server->port = info ? info->port : 0;
	*out = server;
	return 0;
}

unsigned server_port(const struct server *server)
{
	return server->port;
}

void server_stop(struct server *server)
{
	double deadline = monotonic_seconds() + STOP_WAIT_SECONDS;
	int in_flight;

	if (!server)
		return;
	MHD_quiesce_daemon(server->daemon);
	pthread_mutex_lock(&server->lock);
	server->stopping = true;
	pthread_mutex_unlock(&server->lock);
	/* the workers answer what is queued (each resumes its connection) */
	workers_stop(server->writers);
	workers_stop(server->readers);
	server->writers = server->readers = NULL;
	do {
		pthread_mutex_lock(&server->lock);
		in_flight = server->in_flight;
		pthread_mutex_unlock(&server->lock);
		if (in_flight > 0)
			usleep(10000);
	} while (in_flight > 0 && monotonic_seconds() < deadline);
	MHD_stop_daemon(server->daemon);
	free_server(server);
}
