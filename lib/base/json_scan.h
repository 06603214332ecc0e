/*
 * json_scan.h - a strict, allocation-free JSON scanner for flat records.
 *
 * The collector reads millions of records a minute, each a flat JSON object
 * of 68 members; a general JSON library builds a tree (a hash table and an
 * allocation per member) only to be read once.  This scanner walks the text
 * in place: the caller asks for the next member of an object and its value;
 * strings are handed out raw (pointing into the text) and decoded only when
 * kept.  It accepts exactly RFC 8259 JSON: UTF-8 checked, control
 * characters refused, escapes and \u surrogate pairs checked, numbers by the
 * grammar, nesting at most JSON_SCAN_MAX_DEPTH; \u0000 is refused (strings
 * are C strings).  Anything else stops it with a message and its offset.
 */
#ifndef RMMHUNT_BASE_JSON_SCAN_H
#define RMMHUNT_BASE_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_SCAN_MAX_DEPTH 32

enum json_scan_kind {
	JSON_SCAN_NULL,
	JSON_SCAN_TRUE,
	JSON_SCAN_FALSE,
	JSON_SCAN_INTEGER, /* fits int64_t */
	JSON_SCAN_REAL,
	JSON_SCAN_STRING,
	JSON_SCAN_OBJECT, /* the '{' was read: walk it with json_scan_member() */
	JSON_SCAN_ARRAY,  /* the '[' was read: walk it with json_scan_element() */
};

struct json_scan_value {
	enum json_scan_kind kind;
	int64_t integer;
	double real;
	const char *raw; /* a string's text between the quotes, escapes kept */
	size_t raw_length;
	bool escaped; /* raw holds a backslash: decode with json_scan_decode() */
};

struct json_scan {
	const char *text, *position, *end;
	int depth;
	unsigned members[JSON_SCAN_MAX_DEPTH]; /* members/elements read per level */
	char message[96];
	size_t error_offset;
};

void json_scan_init(struct json_scan *scan, const char *text, size_t length);

/* Reads any value (0), or fails (-EINVAL, message set). */
int json_scan_value(struct json_scan *scan, struct json_scan_value *value);
/*
 * In an object (after JSON_SCAN_OBJECT): 1 with the next member's key
 * (raw, as a string value) and the ':' read, 0 at the '}', -EINVAL.
 */
int json_scan_member(struct json_scan *scan, struct json_scan_value *key);
/* In an array: 1 when an element follows (read it), 0 at the ']', -EINVAL. */
int json_scan_element(struct json_scan *scan);
/* Skips the rest of a value whose kind was OBJECT or ARRAY. */
int json_scan_skip(struct json_scan *scan, enum json_scan_kind kind);
/* Only white space is left: 0, else -EINVAL. */
int json_scan_finish(struct json_scan *scan);

/*
 * Decodes a string value's escapes into out (raw_length + 1 bytes are
 * always enough); returns the decoded length.  The scanner checked them.
 */
size_t json_scan_decode(const struct json_scan_value *value, char *out);

#endif
