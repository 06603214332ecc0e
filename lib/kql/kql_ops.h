/*
 * kql_ops.h - KQL's string operators as plain C functions.
 *
 * One implementation of has, contains, startswith, =~ ... serves the query
 * evaluator, and can be registered as SQLite functions by the cache.
 *
 * Semantics (docs/rules.md): case-insensitive variants fold ASCII letters
 * only.  A term character is an ASCII letter or digit, or any byte >= 0x80
 * (so UTF-8 letters such as 'ä' continue a term); '_' is NOT a term
 * character.  `has` matches the needle where, if it starts (ends) with a term
 * character, the byte before (after) the match is not one.  An empty needle
 * matches every string.
 */
#ifndef RMMHUNT_KQL_OPS_H
#define RMMHUNT_KQL_OPS_H

#include <stdbool.h>
#include <stddef.h>

enum kql_match {
	KQL_MATCH_HAS,	      /* whole terms */
	KQL_MATCH_HASPREFIX,  /* starts a term */
	KQL_MATCH_HASSUFFIX,  /* ends a term */
	KQL_MATCH_CONTAINS,   /* anywhere */
	KQL_MATCH_STARTSWITH, /* at the start */
	KQL_MATCH_ENDSWITH,   /* at the end */
	KQL_MATCH_EQUALS,     /* the whole string (=~ when case-insensitive) */
};

/*
 * A needle prepared once: folded to lower case when case-insensitive, with
 * its boundary rules.  text must stay valid while the needle is used.
 */
struct kql_needle {
	const char *text;
	size_t length;
	enum kql_match match;
	bool case_sensitive;
	bool left_term;	 /* the byte before a match must not be a term byte */
	bool right_term; /* the byte after a match must not be a term byte */
};

/*
 * Prepares needle for text.  Case-insensitive needles are folded into
 * folded (length + 1 bytes, may be text itself) which becomes needle->text.
 */
void kql_needle_init(struct kql_needle *needle, enum kql_match match, bool case_sensitive,
		     const char *text, size_t length, char *folded);
bool kql_needle_match(const struct kql_needle *needle, const char *haystack, size_t length);

/* Generic form: does haystack match needle under match/case? */
bool kql_string_match(enum kql_match match, bool case_sensitive, const char *haystack,
		      size_t haystack_length, const char *needle, size_t needle_length);

/* The operators by their KQL names (the negated ones are !f). */
bool kql_has(const char *haystack, size_t haystack_length, const char *needle,
	     size_t needle_length);
bool kql_has_cs(const char *haystack, size_t haystack_length, const char *needle,
		size_t needle_length);
bool kql_contains(const char *haystack, size_t haystack_length, const char *needle,
		  size_t needle_length);
bool kql_startswith(const char *haystack, size_t haystack_length, const char *needle,
		    size_t needle_length);
bool kql_endswith(const char *haystack, size_t haystack_length, const char *needle,
		  size_t needle_length);
bool kql_equals_ci(const char *a, size_t a_length, const char *b, size_t b_length);

/* Is c part of a term? */
bool kql_is_term_byte(unsigned char c);

#endif
