/*
 * secrets.h - who may talk to the collector: the fleet's enrollment secret,
 * the analysts' tokens, and the device keys handed out at enrollment.
 *
 * The secret and the tokens are read from their files at start and again
 * on SIGHUP (secrets_reload); a request checks them under a read lock, so a
 * reload never leaves a moment with no tokens.  Comparisons take the same
 * time whatever matches.  Device keys are 32 random bytes (base64url, no
 * padding); the store keeps only their SHA-256.
 */
#ifndef RMMHUNT_COLLECTOR_SECRETS_H
#define RMMHUNT_COLLECTOR_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"
#include "wire/wire.h"

struct secrets;

/*
 * Reads both files (either may be NULL: then nothing matches it).  Returns
 * 0 or a negative errno with a sentence in message.
 */
int secrets_open(const char *enroll_secret_file, const char *analyst_token_file,
		 struct secrets **out, char *message, size_t message_size);
/* Reads the files again; on any error the old secrets stay.  */
int secrets_reload(struct secrets *secrets, char *message, size_t message_size);
void secrets_close(struct secrets *secrets);

bool secrets_is_enroll_secret(struct secrets *secrets, const char *text, size_t length);
bool secrets_is_analyst_token(struct secrets *secrets, const char *text, size_t length);
size_t secrets_analyst_token_count(struct secrets *secrets);

/* A new device key (WIRE_DEVICE_KEY_TEXT characters + NUL).  -errno. */
int secrets_new_device_key(char key[WIRE_DEVICE_KEY_TEXT + 1]);
/* SHA-256 of a key as sent. */
void secrets_hash_key(const char *key, size_t length, unsigned char hash[STORE_KEY_HASH_BYTES]);

/* Does text look like a device key (43 base64url characters)? */
bool secrets_looks_like_device_key(const char *text, size_t length);

#endif
