/*
 * http_client.c - POST to the collector over verified TLS (see
 * http_client.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "backoff.h"
#include "base/version.h"
#include "http_client.h"

#define URL_BYTES 1024

struct http_client {
	CURL *curl;
	struct http_client_options options;
	struct http_response *response; /* the transfer's, for the callbacks */
	bool aborted;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_result;

static void global_init(void)
{
	global_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void http_response_init(struct http_response *response)
{
	memset(response, 0, sizeof(*response));
	strbuf_init(&response->body);
	response->retry_after_seconds = -1;
}

void http_response_free(struct http_response *response)
{
	strbuf_free(&response->body);
}

static void reset_response(struct http_response *response)
{
	strbuf_clear(&response->body);
	response->status = 0;
	response->retry_after_seconds = -1;
	response->transport_error[0] = '\0';
}

static size_t on_body(char *data, size_t size, size_t count, void *context)
{
	struct http_client *client = context;
	struct strbuf *body = &client->response->body;
	size_t length = size * count;

	/* the rest of a long answer is read and dropped, not kept */
	if (body->length < HTTP_ANSWER_MAX_BYTES)
		strbuf_append(body, data, length < HTTP_ANSWER_MAX_BYTES - body->length
						  ? length
						  : HTTP_ANSWER_MAX_BYTES - body->length);
	return length;
}

static size_t on_header(char *data, size_t size, size_t count, void *context)
{
	static const char name[] = "retry-after:";
	struct http_client *client = context;
	size_t length = size * count;
	char value[128];
	int64_t seconds;

	if (length <= sizeof(name) - 1 || strncasecmp(data, name, sizeof(name) - 1) != 0)
		return length;
	snprintf(value, sizeof(value), "%.*s", (int)(length - (sizeof(name) - 1)),
		 data + sizeof(name) - 1);
	if (backoff_parse_retry_after(value, (int64_t)time(NULL), &seconds) == 0)
		client->response->retry_after_seconds = seconds;
	return length;
}

static int on_progress(void *context, curl_off_t download_total, curl_off_t downloaded,
		       curl_off_t upload_total, curl_off_t uploaded)
{
	struct http_client *client = context;

	(void)download_total;
	(void)downloaded;
	(void)upload_total;
	(void)uploaded;
	if (client->options.abort && client->options.abort(client->options.abort_context)) {
		client->aborted = true;
		return 1;
	}
	return 0;
}

static int configure(struct http_client *client)
{
	CURL *curl = client->curl;
	const struct http_client_options *options = &client->options;
	CURLcode code = CURLE_OK;

	code |= curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	code |= curl_easy_setopt(curl, CURLOPT_USERAGENT, "rmmhunt-agent/" RMMHUNT_VERSION);
	code |= curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	code |= curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	code |= curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	code |= curl_easy_setopt(curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (options->ca_file)
		code |= curl_easy_setopt(curl, CURLOPT_CAINFO, options->ca_file);
	if (options->client_certificate) {
		code |= curl_easy_setopt(curl, CURLOPT_SSLCERT, options->client_certificate);
		code |= curl_easy_setopt(curl, CURLOPT_SSLKEY, options->client_key);
	}
	code |= curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, options->connect_timeout_seconds);
	code |= curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	code |= curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, options->stall_timeout_seconds);
	code |= curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
	code |= curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	code |= curl_easy_setopt(curl, CURLOPT_WRITEDATA, client);
	code |= curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	code |= curl_easy_setopt(curl, CURLOPT_HEADERDATA, client);
	code |= curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	code |= curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	code |= curl_easy_setopt(curl, CURLOPT_XFERINFODATA, client);
	return code == CURLE_OK ? 0 : -EIO;
}

int http_client_create(struct http_client **out, const struct http_client_options *options)
{
	struct http_client *client;

	pthread_once(&global_once, global_init);
	if (global_result != CURLE_OK)
		return -EIO;
	client = calloc(1, sizeof(*client));
	if (!client)
		return -ENOMEM;
	client->options = *options;
	client->curl = curl_easy_init();
	if (!client->curl || configure(client) != 0) {
		http_client_destroy(client);
		return -EIO;
	}
	*out = client;
	return 0;
}

void http_client_destroy(struct http_client *client)
{
	if (!client)
		return;
	if (client->curl)
		curl_easy_cleanup(client->curl);
	free(client);
}

/* Adds line to *headers; false (the list freed) when out of memory. */
static bool add_header(struct curl_slist **headers, const char *line)
{
	struct curl_slist *longer = curl_slist_append(*headers, line);

	if (!longer) {
		curl_slist_free_all(*headers);
		*headers = NULL;
		return false;
	}
	*headers = longer;
	return true;
}

static struct curl_slist *request_headers(const struct http_request *request)
{
	struct curl_slist *headers = NULL;
	char line[256];
	bool added;

	snprintf(line, sizeof(line), "Content-Type: %s", request->content_type);
	if (!add_header(&headers, line))
		return NULL;
	if (request->gzip && !add_header(&headers, "Content-Encoding: gzip"))
		return NULL;
	if (!request->bearer)
		return headers;
	snprintf(line, sizeof(line), "Authorization: Bearer %s", request->bearer);
	added = add_header(&headers, line);
	explicit_bzero(line, sizeof(line));
	return added ? headers : NULL;
}

/* http:// only to loopback; the scheme decides which protocol curl may use */
static const char *allowed_protocol(const char *url)
{
	return strncasecmp(url, "http://", 7) == 0 ? "http" : "https";
}

int http_client_post(struct http_client *client, const struct http_request *request,
		     struct http_response *response)
{
	CURL *curl = client->curl;
	char url[URL_BYTES], error[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers;
	size_t base_length = strlen(request->base_url);
	CURLcode code;

	reset_response(response);
	while (base_length > 0 && request->base_url[base_length - 1] == '/')
		base_length--;
	if (snprintf(url, sizeof(url), "%.*s%s", (int)base_length, request->base_url,
		     request->path) >= (int)sizeof(url))
		return -ENAMETOOLONG;
	headers = request_headers(request);
	if (!headers)
		return -ENOMEM;
	client->response = response;
	client->aborted = false;
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, allowed_protocol(request->base_url));
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)request->length);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request->body);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
	code = curl_easy_perform(curl);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(headers);
	client->response = NULL;
	if (client->aborted)
		return -ECANCELED;
	if (code != CURLE_OK) {
		snprintf(response->transport_error, sizeof(response->transport_error), "%s%s%s",
			 curl_easy_strerror(code), error[0] ? ": " : "", error);
		return -EIO;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response->status);
	return response->body.failed ? -ENOMEM : 0;
}

static bool loopback_host(const char *host)
{
	struct in_addr ipv4;
	struct in6_addr ipv6;
	char bare[64];
	size_t length = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &ipv4) == 1)
		return (ntohl(ipv4.s_addr) >> 24) == 127;
	if (length > 2 && length < sizeof(bare) + 2 && host[0] == '[' && host[length - 1] == ']') {
		snprintf(bare, sizeof(bare), "%.*s", (int)(length - 2), host + 1);
		return inet_pton(AF_INET6, bare, &ipv6) == 1 && IN6_IS_ADDR_LOOPBACK(&ipv6);
	}
	return false;
}

static int check_parts(CURLU *parsed, char *message, size_t message_size)
{
	char *scheme = NULL, *host = NULL, *extra = NULL;
	int result = -EINVAL;

	if (curl_url_get(parsed, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(parsed, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		snprintf(message, message_size, "expected https://HOST[:PORT]");
	else if (curl_url_get(parsed, CURLUPART_USER, &extra, 0) == CURLUE_OK ||
		 curl_url_get(parsed, CURLUPART_QUERY, &extra, 0) == CURLUE_OK ||
		 curl_url_get(parsed, CURLUPART_FRAGMENT, &extra, 0) == CURLUE_OK)
		snprintf(message, message_size, "no user name, query or fragment, please");
	else if (strcasecmp(scheme, "http") == 0 && !loopback_host(host))
		snprintf(message, message_size,
			 "plain http only to a loopback address (127.0.0.1, [::1], localhost); "
			 "use https");
	else if (strcasecmp(scheme, "https") != 0 && strcasecmp(scheme, "http") != 0)
		snprintf(message, message_size, "the scheme must be https");
	else
		result = 0;
	curl_free(scheme);
	curl_free(host);
	curl_free(extra);
	return result;
}

int http_check_collector_url(const char *url, char *message, size_t message_size)
{
	CURLU *parsed = curl_url();
	int result;

	if (!parsed) {
		snprintf(message, message_size, "out of memory");
		return -ENOMEM;
	}
	if (strlen(url) >= URL_BYTES - 32) {
		snprintf(message, message_size, "too long");
		result = -EINVAL;
	} else if (curl_url_set(parsed, CURLUPART_URL, url, 0) != CURLUE_OK) {
		snprintf(message, message_size, "not a URL");
		result = -EINVAL;
	} else {
		result = check_parts(parsed, message, message_size);
	}
	curl_url_cleanup(parsed);
	return result;
}
