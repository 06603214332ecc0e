/*
 * binident_json.h - a binary's identity as JSON (jansson).
 *
 * Two views:
 *   - binident_additional_fields(): the flat object the agent merges into a
 *     record's AdditionalFields (snake_case keys, listed in
 *     docs/binary-identity.md): file type, PE fixed versions, chosen table,
 *     its other strings, the other tables, anomalies; ELF build-id, package
 *     note, Go build info (go_main_package...); the owning Debian package.
 *   - binident_to_json(): everything read, for `rmmhunt inspect --json`.
 * Both return a new reference (NULL only when out of memory).
 */
#ifndef RMMHUNT_BINIDENT_JSON_H
#define RMMHUNT_BINIDENT_JSON_H

#include <jansson.h>

#include "binident/binident.h"

/* At most this many non-chosen tables go into AdditionalFields. */
#define BINIDENT_MAX_OTHER_TABLES 64

json_t *binident_additional_fields(const struct binary_identity *identity);

json_t *binident_to_json(const struct binary_identity *identity);

/* A JSON string of text, with invalid UTF-8 bytes replaced by U+FFFD. */
json_t *json_text(const char *text);

#endif
