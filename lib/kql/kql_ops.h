/*
 * kql_ops.h - KQL's string operators as plain C functions.
 *
 * One implementation of has, contains, startswith, =~ ... serves the query
 * evaluator, and can be registered as SQLite functions by the cache.
 *
 * Semantics (docs/rules.md): case-insensitive variants compare by Unicode
 * simple case folding.  A term character is a Unicode letter or decimal
 * digit (general category L* or Nd); '_', punctuation, symbols and spaces
 * (also a no-break space) separate terms.  `has` matches the needle where, if
 * it starts (ends) with a term character, the character before (after) the
 * match is not one.  An empty needle matches every string.  Text is UTF-8;
 * a byte that is not part of a valid sequence is a character of its own that
 * only equals itself.
 */
#ifndef RMMHUNT_KQL_OPS_H
#define RMMHUNT_KQL_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
	bool valid;	 /* the needle is valid UTF-8 */
	bool left_term;	 /* the character before a match must not be a term character */
	bool right_term; /* the character after a match must not be a term character */
};

/* Bytes the folded copy of a needle of length bytes may need. */
#define KQL_NEEDLE_FOLDED_SIZE(length) (2 * (length) + 1)

/*
 * Prepares needle for text.  Case-insensitive needles are folded into
 * folded (KQL_NEEDLE_FOLDED_SIZE(length) bytes) which becomes needle->text.
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

/* Is the character code part of a term (a Unicode letter or decimal digit)? */
bool kql_is_term_char(uint32_t code);

#endif
