/*
 * regex.c - Kusto regular expressions on top of POSIX regex (glibc).
 *
 * Kusto uses RE2 syntax; Debian 12's libraries offer POSIX extended regular
 * expressions, whose glibc flavour already knows \w \W \s \S \b \B.  This
 * file rewrites the RE2 forms rule authors use into that: \d and \D, (?i)
 * (case-insensitive), (?:...) and (?P<name>...) groups, \A and \z, \n \t \r
 * and \xHH, classes inside brackets ([\w.-]), and lazy quantifiers (*? +?
 * ?? {n,m}?), which become greedy: a match test gives the same answer either
 * way.  Anything else RE2-only (\p{..}, look-around) is reported as an error
 * at compile time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kql/internal.h"

struct rewrite {
	char *out;
	size_t used;
	size_t size;
};

static void put(struct rewrite *rewrite, const char *text)
{
	size_t length = strlen(text);

	if (rewrite->used + length < rewrite->size) {
		memcpy(rewrite->out + rewrite->used, text, length);
		rewrite->used += length;
	}
}

static void put_char(struct rewrite *rewrite, char c)
{
	char text[2] = {c, '\0'};

	put(rewrite, text);
}

/* A literal byte, escaped when ERE gives it a meaning. */
static void put_literal(struct rewrite *rewrite, char c, bool in_bracket)
{
	if (!in_bracket && strchr(".[]()*+?{}|^$\\", c) && c != '\0')
		put_char(rewrite, '\\');
	put_char(rewrite, c);
}

/* One escape sequence at pattern[*i] == '\\'. */
static int rewrite_escape(struct rewrite *rewrite, const char *pattern, size_t length, size_t *i,
			  bool in_bracket, char *message, size_t size)
{
	if (*i + 1 >= length) {
		snprintf(message, size, "bad regular expression: trailing backslash");
		return -EINVAL;
	}
	char c = pattern[++*i];

	switch (c) {
	case 'd':
		put(rewrite, in_bracket ? "0-9" : "[0-9]");
		return 0;
	case 'D':
		if (in_bracket)
			break;
		put(rewrite, "[^0-9]");
		return 0;
	case 'w':
		put(rewrite, in_bracket ? "[:alnum:]_" : "\\w");
		return 0;
	case 's':
		put(rewrite, in_bracket ? "[:space:]" : "\\s");
		return 0;
	case 'W':
	case 'S':
	case 'b':
	case 'B':
		if (in_bracket)
			break;
		put_char(rewrite, '\\');
		put_char(rewrite, c);
		return 0;
	case 'A':
		put(rewrite, "^");
		return 0;
	case 'z':
		put(rewrite, "$");
		return 0;
	case 'n':
		put_char(rewrite, '\n');
		return 0;
	case 't':
		put_char(rewrite, '\t');
		return 0;
	case 'r':
		put_char(rewrite, '\r');
		return 0;
	case 'x':
		if (*i + 2 < length && text_hex_digit(pattern[*i + 1]) >= 0 && text_hex_digit(pattern[*i + 2]) >= 0) {
			char byte = (char)(text_hex_digit(pattern[*i + 1]) * 16 + text_hex_digit(pattern[*i + 2]));

			*i += 2;
			if (byte == '\0')
				break;
			put_literal(rewrite, byte, in_bracket);
			return 0;
		}
		break;
	default:
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			break;
		if (in_bracket && (c == ']' || c == '-' || c == '^'))
			break;
		put_literal(rewrite, c, in_bracket);
		return 0;
	}
	snprintf(message, size, "regular expression: '\\%c' is not supported here", c);
	return -EINVAL;
}

static int rewrite_pattern(struct rewrite *rewrite, const char *pattern, size_t length,
			   int *flags, char *message, size_t size)
{
	size_t i = 0;
	bool in_bracket = false;
	bool after_quantifier = false;
	size_t bracket_start = 0;

	if (length >= 4 && memcmp(pattern, "(?i)", 4) == 0) {
		*flags |= REG_ICASE;
		i = 4;
	}
	for (; i < length; i++) {
		char c = pattern[i];

		if (c == '\0') {
			snprintf(message, size, "regular expression contains a NUL byte");
			return -EINVAL;
		}
		if (c != '?')
			after_quantifier = false;
		if (c == '\\') {
			if (rewrite_escape(rewrite, pattern, length, &i, in_bracket, message, size) < 0)
				return -EINVAL;
			continue;
		}
		if (in_bracket) {
			/* ']' right after '[' or '[^' is a literal */
			if (c == ']' && i > bracket_start)
				in_bracket = false;
			put_char(rewrite, c);
			continue;
		}
		if (c == '[') {
			in_bracket = true;
			put_char(rewrite, c);
			if (i + 1 < length && pattern[i + 1] == '^')
				put_char(rewrite, pattern[++i]);
			bracket_start = i + 1;
			continue;
		}
		if (c == '(' && i + 1 < length && pattern[i + 1] == '?') {
			if (i + 2 < length && pattern[i + 2] == ':') {
				i += 2;
			} else if (i + 3 < length && pattern[i + 2] == 'P' && pattern[i + 3] == '<') {
				const char *end = memchr(pattern + i, '>', length - i);

				if (!end)
					break;
				i = (size_t)(end - pattern);
			} else {
				snprintf(message, size,
					 "regular expression: '(?' groups other than (?:...) are not "
					 "supported");
				return -EINVAL;
			}
			put_char(rewrite, '(');
			continue;
		}
		if (c == '?' && after_quantifier) {
			/* lazy quantifier: same match test as the greedy one */
			after_quantifier = false;
			continue;
		}
		after_quantifier = c == '*' || c == '+' || c == '?' || c == '}';
		put_char(rewrite, c);
	}
	if (rewrite->used + 1 >= rewrite->size) {
		snprintf(message, size, "regular expression too long");
		return -EINVAL;
	}
	rewrite->out[rewrite->used] = '\0';
	return 0;
}

/*
 * glibc's regcomp copies the tree of a repeated part for x+ and x{n,m}, so
 * nested repeats grow exponentially ((a{99}){99}..., a++++++...).  This
 * estimate of the compiled size (in atoms) rejects such patterns up front,
 * as RE2 would reject them by its program size limit.
 */
#define REGEX_MAX_COST 20000
#define REGEX_MAX_REPEAT 1000
#define REGEX_MAX_DEPTH 100

static size_t saturate(size_t value)
{
	return value > REGEX_MAX_COST ? REGEX_MAX_COST + 1 : value;
}

/* Skips a bracket expression starting at ere[i] == '['; returns its end. */
static size_t skip_bracket(const char *ere, size_t i)
{
	i++;
	if (ere[i] == '^')
		i++;
	if (ere[i] == ']')
		i++;
	while (ere[i] && ere[i] != ']') {
		if (ere[i] == '[' && (ere[i + 1] == ':' || ere[i + 1] == '.' || ere[i + 1] == '=')) {
			const char *end = strchr(ere + i + 2, ere[i + 1]);

			i = end && end[1] == ']' ? (size_t)(end - ere) + 2 : i + 1;
			continue;
		}
		i++;
	}
	return ere[i] ? i : i - 1;
}

/* The cost of a repeat {n}, {n,}, {n,m} at ere[*i] == '{' (0: not one). */
static size_t repeat_count(const char *ere, size_t *i)
{
	size_t j = *i + 1, low = 0, high = 0;
	bool comma = false;

	while (ere[j] >= '0' && ere[j] <= '9' && low <= REGEX_MAX_REPEAT)
		low = low * 10 + (size_t)(ere[j++] - '0');
	if (ere[j] == ',') {
		comma = true;
		j++;
		while (ere[j] >= '0' && ere[j] <= '9' && high <= REGEX_MAX_REPEAT)
			high = high * 10 + (size_t)(ere[j++] - '0');
	}
	if (ere[j] != '}')
		return 0;
	*i = j;
	if (!comma)
		high = low;
	else if (high == 0)
		high = low + 1;
	return high > low ? high : low;
}

static int check_cost(const char *ere, char *message, size_t size)
{
	size_t costs[REGEX_MAX_DEPTH + 1] = {0};
	size_t depth = 0, last = 0;

	for (size_t i = 0; ere[i]; i++) {
		size_t count;

		switch (ere[i]) {
		case '\\':
			if (ere[i + 1])
				i++;
			last = 1;
			costs[depth] = saturate(costs[depth] + 1);
			break;
		case '[':
			i = skip_bracket(ere, i);
			last = 1;
			costs[depth] = saturate(costs[depth] + 1);
			break;
		case '(':
			if (++depth > REGEX_MAX_DEPTH) {
				snprintf(message, size, "regular expression nested too deep");
				return -EINVAL;
			}
			costs[depth] = 0;
			last = 0;
			break;
		case ')':
			if (depth == 0)
				break;
			last = costs[depth--];
			costs[depth] = saturate(costs[depth] + last);
			break;
		case '+':
			costs[depth] = saturate(costs[depth] + last);
			last = saturate(2 * last);
			break;
		case '{':
			count = repeat_count(ere, &i);
			if (count > REGEX_MAX_REPEAT) {
				snprintf(message, size, "regular expression: repeat count above %d",
					 REGEX_MAX_REPEAT);
				return -EINVAL;
			}
			if (count > 1) {
				costs[depth] = saturate(costs[depth] + last * (count - 1));
				last = saturate(last * count);
			}
			break;
		case '*':
		case '?':
		case '|':
			break;
		default:
			last = 1;
			costs[depth] = saturate(costs[depth] + 1);
			break;
		}
		if (costs[depth] > REGEX_MAX_COST || last > REGEX_MAX_COST) {
			snprintf(message, size, "regular expression too complex (nested repeats)");
			return -EINVAL;
		}
	}
	return 0;
}

int kql_regex_compile(regex_t *regex, const char *pattern, size_t length, bool anchor_start,
		  char *message, size_t size)
{
	size_t capacity = 4 * length + 16;
	struct rewrite rewrite = {malloc(capacity), 0, capacity};
	int flags = REG_EXTENDED;

	if (!rewrite.out) {
		snprintf(message, size, "out of memory");
		return -ENOMEM;
	}
	if (anchor_start)
		put(&rewrite, "^");
	if (rewrite_pattern(&rewrite, pattern, length, &flags, message, size) < 0 ||
	    check_cost(rewrite.out, message, size) < 0) {
		free(rewrite.out);
		return -EINVAL;
	}
	int status = regcomp(regex, rewrite.out, flags);

	free(rewrite.out);
	if (status != 0) {
		char reason[128];

		regerror(status, regex, reason, sizeof(reason));
		snprintf(message, size, "bad regular expression '%.*s': %s",
			 (int)(length > 80 ? 80 : length), pattern, reason);
		return -EINVAL;
	}
	return 0;
}

bool kql_regex_search(const regex_t *regex, const char *text, size_t length, regmatch_t *match,
		  size_t match_count)
{
	regmatch_t whole[1];

	if (match_count == 0) {
		match = whole;
		match_count = 1;
	}
	match[0].rm_so = 0;
	match[0].rm_eo = (regoff_t)length;
	return regexec(regex, text, match_count, match, REG_STARTEND) == 0;
}
