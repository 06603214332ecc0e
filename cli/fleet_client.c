/*
 * fleet_client.c - HTTPS requests to the collector with an analyst token
 * (fleet_client.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "base/strbuf.h"
#include "fleet_client.h"

#define REQUEST_TIMEOUT_SECONDS 900L
#define CONNECT_TIMEOUT_SECONDS 15L
#define ANSWER_MAX (1024L * 1024 * 1024)

static int read_token(const char *path, char *token, size_t size, char *message,
		      size_t message_size)
{
	FILE *in = fopen(path, "re");
	char line[1024];

	if (!in) {
		snprintf(message, message_size, "cannot read --token-file %s: %s", path,
			 strerror(errno));
		return -1;
	}
	token[0] = '\0';
	while (fgets(line, sizeof(line), in)) {
		char *start = line;
		size_t length;

		while (*start == ' ' || *start == '\t')
			start++;
		length = strcspn(start, "\r\n");
		while (length > 0 && (start[length - 1] == ' ' || start[length - 1] == '\t'))
			length--;
		start[length] = '\0';
		if (length == 0 || start[0] == '#')
			continue;
		snprintf(token, size, "%s", start);
		break;
	}
	explicit_bzero(line, sizeof(line));
	fclose(in);
	if (!token[0]) {
		snprintf(message, message_size, "--token-file %s holds no token", path);
		return -1;
	}
	return 0;
}

static size_t take_bytes(char *data, size_t size, size_t count, void *context)
{
	struct strbuf *answer = context;

	if (answer->length + size * count > (size_t)ANSWER_MAX)
		return 0;
	strbuf_append(answer, data, size * count);
	return answer->failed ? 0 : size * count;
}

static int perform(CURL *curl, const struct fleet_client *client, const char *path,
		   const char *method, const char *text, struct curl_slist *headers,
		   struct strbuf *answer, char *message, size_t message_size)
{
	char url[2048], error[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode code;

	snprintf(url, sizeof(url), "%s%s", client->url, path);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, take_bytes);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, answer);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_SECONDS);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_SECONDS);
	curl_easy_setopt(curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
	if (client->ca_file)
		curl_easy_setopt(curl, CURLOPT_CAINFO, client->ca_file);
	if (text)
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text);
	else
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	code = curl_easy_perform(curl);
	if (code != CURLE_OK) {
		snprintf(message, message_size, "%s: %s", url, error[0] ? error : curl_easy_strerror(code));
		return -1;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	return (int)status;
}

int fleet_request(const struct fleet_client *client, const char *method, const char *path,
		  json_t *body, json_t **answer, char *message, size_t message_size)
{
	char token[1024], authorization[1100];
	struct curl_slist *headers = NULL;
	struct strbuf received;
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	CURL *curl;
	int status = -1;

	*answer = NULL;
	if (read_token(client->token_file, token, sizeof(token), message, message_size) != 0) {
		free(text);
		return -1;
	}
	snprintf(authorization, sizeof(authorization), "Authorization: Bearer %s", token);
	explicit_bzero(token, sizeof(token));
	strbuf_init(&received);
	curl = curl_easy_init();
	headers = curl_slist_append(headers, authorization);
	headers = curl_slist_append(headers, "Content-Type: application/json");
	headers = curl_slist_append(headers, "Accept: application/json");
	if (!curl || !headers)
		snprintf(message, message_size, "out of memory");
	else
		status = perform(curl, client, path, method, text, headers, &received, message,
				 message_size);
	explicit_bzero(authorization, sizeof(authorization));
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	free(text);
	if (status > 0) {
		json_error_t error;

		*answer = json_loadb(received.data ? received.data : "", received.length, 0, &error);
		if (!*answer && status != 200 && received.length)
			*answer = json_pack("{s:{s:s%}}", "error", "message", received.data,
					    received.length);
		if (!*answer) {
			snprintf(message, message_size, "%s%s: answer %d is not JSON (%s)",
				 client->url, path, status, error.text);
			status = -1;
		}
	}
	strbuf_free(&received);
	return status;
}

bool fleet_client_option(struct fleet_client *client, int option, const char *value)
{
	switch (option) {
	case 'C':
		client->url = value;
		return true;
	case 'T':
		client->token_file = value;
		return true;
	case 'A':
		client->ca_file = value;
		return true;
	default:
		return false;
	}
}

const char *fleet_error_message(json_t *answer)
{
	const char *text = json_string_value(json_object_get(json_object_get(answer, "error"),
							      "message"));

	return text ? text : "";
}
