/*
 * secrets.c - enrollment secret, analyst tokens, device keys (secrets.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "base/array.h"
#include "secrets.h"

#define SECRET_FILE_MAX (1 << 20)
#define TOKEN_MIN_LENGTH 16

struct token_list {
	char **tokens;
	size_t count, capacity;
};

struct secrets {
	char *enroll_path, *analyst_path;
	pthread_rwlock_t lock;
	struct token_list enroll; /* at most one: the file's first line */
	struct token_list analysts;
};

static void free_list(struct token_list *list)
{
	for (size_t i = 0; i < list->count; i++) {
		explicit_bzero(list->tokens[i], strlen(list->tokens[i]));
		free(list->tokens[i]);
	}
	free(list->tokens);
	list->tokens = NULL;
	list->count = list->capacity = 0;
}

static char *trim(char *line)
{
	size_t length = strlen(line);

	while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r' ||
			      line[length - 1] == ' ' || line[length - 1] == '\t'))
		line[--length] = '\0';
	while (*line == ' ' || *line == '\t')
		line++;
	return line;
}

static int add_token(struct token_list *list, const char *token)
{
	char **room = array_reserve(list->tokens, &list->capacity, list->count + 1, 8,
				    sizeof(*room));

	if (!room)
		return -ENOMEM;
	list->tokens = room;
	list->tokens[list->count] = strdup(token);
	if (!list->tokens[list->count])
		return -ENOMEM;
	list->count++;
	return 0;
}

/* Lines of path ('#' comments and blank lines skipped); first_only: one. */
static int read_list(const char *path, bool first_only, struct token_list *list, char *message,
		     size_t message_size)
{
	FILE *in = fopen(path, "re");
	char *line = NULL;
	size_t capacity = 0;
	unsigned long number = 0;
	int result = 0;

	if (!in) {
		result = -errno;
		snprintf(message, message_size, "cannot read %s: %s", path, strerror(errno));
		return result;
	}
	while (result == 0 && getline(&line, &capacity, in) >= 0) {
		char *token = trim(line);

		number++;
		if (token[0] == '\0' || token[0] == '#')
			continue;
		if (strlen(token) < TOKEN_MIN_LENGTH) {
			snprintf(message, message_size,
				 "%s:%lu: too short: a secret or token needs at least %d characters",
				 path, number, TOKEN_MIN_LENGTH);
			result = -EINVAL;
			break;
		}
		result = add_token(list, token);
		if (first_only)
			break;
	}
	if (line) {
		explicit_bzero(line, capacity);
		free(line);
	}
	fclose(in);
	if (result == 0 && list->count == 0) {
		snprintf(message, message_size, "%s holds no %s", path,
			 first_only ? "secret" : "token");
		result = -EINVAL;
	}
	if (result)
		free_list(list);
	return result;
}

int secrets_reload(struct secrets *secrets, char *message, size_t message_size)
{
	struct token_list enroll = {NULL, 0, 0}, analysts = {NULL, 0, 0};
	int result = 0;

	if (secrets->enroll_path)
		result = read_list(secrets->enroll_path, true, &enroll, message, message_size);
	if (result == 0 && secrets->analyst_path)
		result = read_list(secrets->analyst_path, false, &analysts, message, message_size);
	if (result) {
		free_list(&enroll);
		return result;
	}
	pthread_rwlock_wrlock(&secrets->lock);
	free_list(&secrets->enroll);
	free_list(&secrets->analysts);
	secrets->enroll = enroll;
	secrets->analysts = analysts;
	pthread_rwlock_unlock(&secrets->lock);
	return 0;
}

int secrets_open(const char *enroll_secret_file, const char *analyst_token_file,
		 struct secrets **out, char *message, size_t message_size)
{
	struct secrets *secrets = calloc(1, sizeof(*secrets));
	int result;

	if (!secrets)
		return -ENOMEM;
	pthread_rwlock_init(&secrets->lock, NULL);
	secrets->enroll_path = enroll_secret_file ? strdup(enroll_secret_file) : NULL;
	secrets->analyst_path = analyst_token_file ? strdup(analyst_token_file) : NULL;
	result = secrets_reload(secrets, message, message_size);
	if (result) {
		secrets_close(secrets);
		return result;
	}
	*out = secrets;
	return 0;
}

void secrets_close(struct secrets *secrets)
{
	if (!secrets)
		return;
	free_list(&secrets->enroll);
	free_list(&secrets->analysts);
	pthread_rwlock_destroy(&secrets->lock);
	free(secrets->enroll_path);
	free(secrets->analyst_path);
	free(secrets);
}

/* Same time for every token of the same length, whatever matches. */
static bool equal_constant_time(const char *a, size_t a_length, const char *b, size_t b_length)
{
	unsigned char difference = a_length != b_length;
	size_t length = a_length < b_length ? a_length : b_length;

	for (size_t i = 0; i < length; i++)
		difference |= (unsigned char)(a[i] ^ b[i]);
	return difference == 0;
}

static bool in_list(struct secrets *secrets, const struct token_list *list, const char *text,
		    size_t length)
{
	bool found = false;

	pthread_rwlock_rdlock(&secrets->lock);
	for (size_t i = 0; i < list->count; i++)
		found |= equal_constant_time(list->tokens[i], strlen(list->tokens[i]), text, length);
	pthread_rwlock_unlock(&secrets->lock);
	return found;
}

bool secrets_is_enroll_secret(struct secrets *secrets, const char *text, size_t length)
{
	return in_list(secrets, &secrets->enroll, text, length);
}

bool secrets_is_analyst_token(struct secrets *secrets, const char *text, size_t length)
{
	return in_list(secrets, &secrets->analysts, text, length);
}

size_t secrets_analyst_token_count(struct secrets *secrets)
{
	size_t count;

	pthread_rwlock_rdlock(&secrets->lock);
	count = secrets->analysts.count;
	pthread_rwlock_unlock(&secrets->lock);
	return count;
}

static const char base64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int secrets_new_device_key(char key[WIRE_DEVICE_KEY_TEXT + 1])
{
	unsigned char bytes[WIRE_DEVICE_KEY_BYTES + 2] = {0};
	size_t out = 0;

	if (getrandom(bytes, WIRE_DEVICE_KEY_BYTES, 0) != WIRE_DEVICE_KEY_BYTES)
		return -EIO;
	for (size_t i = 0; i < WIRE_DEVICE_KEY_BYTES; i += 3) {
		uint32_t group = (uint32_t)bytes[i] << 16 | (uint32_t)bytes[i + 1] << 8 | bytes[i + 2];
		size_t left = WIRE_DEVICE_KEY_BYTES - i;

		key[out++] = base64url[(group >> 18) & 63];
		key[out++] = base64url[(group >> 12) & 63];
		if (left > 1)
			key[out++] = base64url[(group >> 6) & 63];
		if (left > 2)
			key[out++] = base64url[group & 63];
	}
	key[out] = '\0';
	explicit_bzero(bytes, sizeof(bytes));
	return out == WIRE_DEVICE_KEY_TEXT ? 0 : -EINVAL;
}

void secrets_hash_key(const char *key, size_t length, unsigned char hash[STORE_KEY_HASH_BYTES])
{
	gnutls_hash_fast(GNUTLS_DIG_SHA256, key, length, hash);
}

bool secrets_looks_like_device_key(const char *text, size_t length)
{
	if (length != WIRE_DEVICE_KEY_TEXT)
		return false;
	for (size_t i = 0; i < length; i++) {
		if (!memchr(base64url, text[i], sizeof(base64url) - 1))
			return false;
	}
	return true;
}
