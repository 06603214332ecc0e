/*
 * regex.c - Kusto regular expressions (RE2 syntax) on PCRE2.
 *
 * Kusto runs RE2.  Debian 12 has RE2 only as a C++ library; PCRE2 has a C
 * API and, with the options below, the same semantics as RE2 for the RE2
 * syntax: patterns work on UTF-8 characters (PCRE2_UTF), `.` does not match
 * \n unless the s flag is set, `$` matches only at the very end unless the m
 * flag is set (PCRE2_DOLLAR_ENDONLY), \d \w \s \b are ASCII as in RE2 (no
 * PCRE2_UCP), and (?i) folds Unicode letters.  What PCRE2 accepts but RE2
 * does not (back-references, look-around, atomic and possessive forms,
 * recursion, callouts, (*VERBS), \K \G \R \X \h ...) is refused when the
 * pattern is compiled, as Kusto refuses it; \v means the vertical tab as in
 * RE2 (PCRE2 reads it as a class).  Repeat counts above 1000 are refused as
 * RE2 refuses them.
 *
 * RE2 matches in linear time; PCRE2 backtracks.  So that a hostile rule or
 * row cannot stall the agent, the backtracking matcher (JIT-compiled when
 * the system allows it) runs under a match limit, and when the limit is hit
 * the yes/no answer is computed again by PCRE2's DFA matcher, which keeps
 * every alternative at once and is polynomial: `matches regex` always gets
 * the exact answer.  A capture (extract, parse, replace_regex) that hits
 * the limit is reported as no match.  Bytes that are not UTF-8 match
 * nothing (PCRE2_MATCH_INVALID_UTF), not even `.`.
 *
 * A compiled regex holds its match data: use it from one thread at a time,
 * as the compiled query that owns it.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "kql/internal.h"

#define REGEX_MAX_REPEAT 1000
#define REGEX_MATCH_LIMIT 200000
#define REGEX_DEPTH_LIMIT 20000
#define REGEX_DFA_WORKSPACE 4096
#define REGEX_MAX_PATTERN 65536

struct kql_regex {
	pcre2_code *code;
	pcre2_match_data *match;
	pcre2_match_context *context;
	uint32_t groups;
};

/* ---- RE2 syntax check ---------------------------------------------------- */

static int refuse(char *message, size_t size, const char *what)
{
	snprintf(message, size, "regular expression: %s (not RE2 syntax)", what);
	return -EINVAL;
}

static bool is_octal(char c)
{
	return c >= '0' && c <= '7';
}

/* One escape at pattern[*i] == '\\'; appends its PCRE2 form. */
static int check_escape(const char *pattern, size_t length, size_t *i, char *out, size_t *used,
			char *message, size_t size)
{
	if (*i + 1 >= length)
		return refuse(message, size, "trailing backslash");
	char c = pattern[*i + 1];

	switch (c) {
	case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8': case '9':
		if (c <= '7' && *i + 2 < length && is_octal(pattern[*i + 2]))
			break; /* octal character code, as in RE2 */
		return refuse(message, size, "back-references such as \\1 are not supported");
	case 'g': case 'k': case 'K': case 'G': case 'R': case 'X': case 'h': case 'H':
	case 'V': case 'N': case 'Z': case 'c': case 'o': case 'e': case 'E': case 'u':
	case 'U': case 'l': case 'L': case 'i': case 'j': case 'm': case 'M': case 'O':
	case 'y': case 'Y': case 'T':
		snprintf(message, size, "regular expression: '\\%c' is not supported (not RE2 syntax)",
			 c);
		return -EINVAL;
	case 'v': {
		static const char vertical_tab[] = "\\x0b";

		for (size_t k = 0; k < sizeof(vertical_tab) - 1; k++)
			out[(*used)++] = vertical_tab[k];
		*i += 1;
		return 0;
	}
	case 'Q': {
		/* \Q...\E: copied as it is */
		const char *end = memmem(pattern + *i + 2, length - *i - 2, "\\E", 2);
		size_t stop = end ? (size_t)(end - pattern) + 2 : length;

		memcpy(out + *used, pattern + *i, stop - *i);
		*used += stop - *i;
		*i = stop - 1;
		return 0;
	}
	default:
		break;
	}
	out[(*used)++] = '\\';
	out[(*used)++] = c;
	*i += 1;
	return 0;
}

/* A group opening "(?" at pattern[i]: RE2 knows (?:, (?P<n>, (?<n>, flags. */
static int check_group(const char *pattern, size_t length, size_t i, char *message, size_t size)
{
	size_t j = i + 2;

	if (j >= length)
		return refuse(message, size, "missing ')'");
	if (pattern[j] == ':')
		return 0;
	if (pattern[j] == 'P' && j + 1 < length && pattern[j + 1] == '<')
		return 0;
	if (pattern[j] == '<' && j + 1 < length && pattern[j + 1] != '=' && pattern[j + 1] != '!')
		return 0;
	if (pattern[j] == '=' || pattern[j] == '!' || pattern[j] == '<')
		return refuse(message, size, "look-around assertions are not supported");
	/* flags: (?i) (?-i) (?is:...) with i, m, s, U */
	bool any = false;

	for (; j < length && pattern[j] != ')' && pattern[j] != ':'; j++) {
		if (pattern[j] == '-' || pattern[j] == 'i' || pattern[j] == 'm' || pattern[j] == 's' ||
		    pattern[j] == 'U') {
			any = true;
			continue;
		}
		return refuse(message, size,
			      "'(?' groups other than (?:...), (?P<name>...) and the flags i, m, s, U "
			      "are not supported");
	}
	if (!any || j >= length)
		return refuse(message, size, "bad '(?' group");
	return 0;
}

/* A counted repeat {n}, {n,}, {n,m} at pattern[i] == '{'; false: a literal '{'. */
static bool repeat_counts(const char *pattern, size_t length, size_t i, size_t *low, size_t *high,
			  size_t *end)
{
	size_t j = i + 1;
	bool digits = false;

	*low = 0;
	*high = 0;
	while (j < length && pattern[j] >= '0' && pattern[j] <= '9') {
		if (*low <= 100000)
			*low = *low * 10 + (size_t)(pattern[j] - '0');
		digits = true;
		j++;
	}
	if (!digits)
		return false;
	*high = *low;
	if (j < length && pattern[j] == ',') {
		j++;
		*high = 0;
		while (j < length && pattern[j] >= '0' && pattern[j] <= '9') {
			if (*high <= 100000)
				*high = *high * 10 + (size_t)(pattern[j] - '0');
			j++;
		}
	}
	if (j >= length || pattern[j] != '}')
		return false;
	*end = j;
	return true;
}

/*
 * Checks that pattern is RE2 syntax PCRE2 reads the same way, and writes its
 * PCRE2 form (\v rewritten) into out (at least 4 * length + 1 bytes).
 */
static int translate(const char *pattern, size_t length, char *out, size_t *used, char *message,
		     size_t size)
{
	bool in_class = false;
	bool after_repeat = false;

	*used = 0;
	for (size_t i = 0; i < length; i++) {
		char c = pattern[i];
		bool repeat = false;

		if (c == '\0')
			return refuse(message, size, "a NUL byte");
		if (c == '\\') {
			if (check_escape(pattern, length, &i, out, used, message, size) < 0)
				return -EINVAL;
			after_repeat = false;
			continue;
		}
		if (in_class) {
			if (c == ']')
				in_class = false;
			else if (c == '[' && i + 1 < length && pattern[i + 1] == ':') {
				const char *end = memmem(pattern + i + 2, length - i - 2, ":]", 2);

				if (end) {
					size_t stop = (size_t)(end - pattern) + 2;

					memcpy(out + *used, pattern + i, stop - i);
					*used += stop - i;
					i = stop - 1;
					continue;
				}
			}
			out[(*used)++] = c;
			continue;
		}
		switch (c) {
		case '[':
			in_class = true;
			after_repeat = false;
			out[(*used)++] = c;
			if (i + 1 < length && pattern[i + 1] == '^')
				out[(*used)++] = pattern[++i];
			if (i + 1 < length && pattern[i + 1] == ']')
				out[(*used)++] = pattern[++i]; /* a leading ']' is literal */
			continue;
		case '(':
			if (i + 1 < length && pattern[i + 1] == '*')
				return refuse(message, size, "'(*' verbs are not supported");
			if (i + 1 < length && pattern[i + 1] == '?' &&
			    check_group(pattern, length, i, message, size) < 0)
				return -EINVAL;
			break;
		case '*':
		case '+':
		case '?':
			if (after_repeat && c == '+')
				return refuse(message, size, "possessive repeats such as a*+ are not supported");
			if (after_repeat && c != '?')
				return refuse(message, size, "bad repetition operator");
			repeat = c != '?' || !after_repeat;
			break;
		case '{': {
			size_t low, high, end;

			if (!repeat_counts(pattern, length, i, &low, &high, &end))
				break;
			if (low > REGEX_MAX_REPEAT || high > REGEX_MAX_REPEAT) {
				snprintf(message, size,
					 "regular expression: repeat count above %d (RE2's limit)",
					 REGEX_MAX_REPEAT);
				return -EINVAL;
			}
			if (after_repeat)
				return refuse(message, size, "bad repetition operator");
			memcpy(out + *used, pattern + i, end + 1 - i);
			*used += end + 1 - i;
			i = end;
			after_repeat = true;
			continue;
		}
		default:
			break;
		}
		out[(*used)++] = c;
		after_repeat = repeat;
	}
	if (in_class)
		return refuse(message, size, "missing ']'");
	out[*used] = '\0';
	return 0;
}

/* ---- compiling ------------------------------------------------------------ */

void kql_regex_free(struct kql_regex *regex)
{
	if (!regex)
		return;
	pcre2_match_data_free(regex->match);
	pcre2_match_context_free(regex->context);
	pcre2_code_free(regex->code);
	free(regex);
}

int kql_regex_compile(struct kql_regex **out, const char *pattern, size_t length, unsigned flags,
		      char *message, size_t size)
{
	char *translated;
	size_t used;
	int code_error;
	PCRE2_SIZE error_offset;
	uint32_t options = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY |
			   PCRE2_NEVER_BACKSLASH_C | PCRE2_NEVER_UCP;

	*out = NULL;
	if (length > REGEX_MAX_PATTERN) {
		snprintf(message, size, "regular expression longer than %d bytes", REGEX_MAX_PATTERN);
		return -EINVAL;
	}
	if (flags & KQL_REGEX_CASELESS)
		options |= PCRE2_CASELESS;
	if (flags & KQL_REGEX_DOTALL)
		options |= PCRE2_DOTALL;
	if (flags & KQL_REGEX_MULTILINE)
		options |= PCRE2_MULTILINE;
	if (flags & KQL_REGEX_UNGREEDY)
		options |= PCRE2_UNGREEDY;
	translated = malloc(4 * length + 1);
	if (!translated) {
		snprintf(message, size, "out of memory");
		return -ENOMEM;
	}
	if (translate(pattern, length, translated, &used, message, size) < 0) {
		free(translated);
		return -EINVAL;
	}
	struct kql_regex *regex = calloc(1, sizeof(*regex));

	if (!regex) {
		free(translated);
		snprintf(message, size, "out of memory");
		return -ENOMEM;
	}
	regex->code = pcre2_compile((PCRE2_SPTR)translated, used, options, &code_error,
				    &error_offset, NULL);
	free(translated);
	if (!regex->code) {
		char reason[160];

		pcre2_get_error_message(code_error, (PCRE2_UCHAR *)reason, sizeof(reason));
		snprintf(message, size, "bad regular expression '%.*s': %s",
			 (int)(length > 80 ? 80 : length), pattern, reason);
		kql_regex_free(regex);
		return -EINVAL;
	}
	/* the JIT is an optimisation: without it (no executable memory) the
	 * interpreter gives the same answers */
	(void)pcre2_jit_compile(regex->code, PCRE2_JIT_COMPLETE);
	pcre2_pattern_info(regex->code, PCRE2_INFO_CAPTURECOUNT, &regex->groups);
	regex->match = pcre2_match_data_create_from_pattern(regex->code, NULL);
	regex->context = pcre2_match_context_create(NULL);
	if (!regex->match || !regex->context) {
		kql_regex_free(regex);
		snprintf(message, size, "out of memory");
		return -ENOMEM;
	}
	pcre2_set_match_limit(regex->context, REGEX_MATCH_LIMIT);
	pcre2_set_depth_limit(regex->context, REGEX_DEPTH_LIMIT);
	*out = regex;
	return 0;
}

size_t kql_regex_group_count(const struct kql_regex *regex)
{
	return regex->groups;
}

/* ---- matching ---------------------------------------------------------------- */

static bool over_limit(int status)
{
	return status == PCRE2_ERROR_MATCHLIMIT || status == PCRE2_ERROR_DEPTHLIMIT ||
	       status == PCRE2_ERROR_HEAPLIMIT || status == PCRE2_ERROR_JIT_STACKLIMIT;
}

/* The yes/no answer without backtracking (PCRE2's DFA matcher). */
static bool dfa_matches(struct kql_regex *regex, const char *text, size_t length, size_t offset)
{
	int workspace[REGEX_DFA_WORKSPACE];
	pcre2_match_data *match = pcre2_match_data_create(1, NULL);

	if (!match)
		return false;
	int status = pcre2_dfa_match(regex->code, (PCRE2_SPTR)text, length, offset,
				     PCRE2_DFA_SHORTEST, match, NULL, workspace,
				     REGEX_DFA_WORKSPACE);

	pcre2_match_data_free(match);
	return status >= 0;
}

int kql_regex_search(struct kql_regex *regex, const char *text, size_t length, size_t offset,
		     struct kql_regex_span *spans, size_t span_count)
{
	int status = pcre2_match(regex->code, (PCRE2_SPTR)(text ? text : ""), length, offset, 0,
				 regex->match, regex->context);

	if (status == PCRE2_ERROR_NOMATCH)
		return 0;
	if (status < 0) {
		if (over_limit(status) && span_count == 0)
			return dfa_matches(regex, text ? text : "", length, offset) ? 1 : 0;
		return 0;
	}
	PCRE2_SIZE *vector = pcre2_get_ovector_pointer(regex->match);
	uint32_t pairs = pcre2_get_ovector_count(regex->match);

	for (size_t i = 0; i < span_count; i++) {
		bool set = i < pairs && vector[2 * i] != PCRE2_UNSET;

		spans[i].set = set;
		spans[i].start = set ? vector[2 * i] : 0;
		spans[i].end = set ? vector[2 * i + 1] : 0;
	}
	return 1;
}
