/*
 * lexer.c - KQL text to tokens.
 *
 * Handles comments (// to the end of the line), strings ('...', "..." with
 * backslash escapes, @'...' and @"..." verbatim with doubled quotes, h'...'
 * obfuscated strings), numbers (long, real, hex), timespan literals (a number
 * glued to a unit: 5d, 1.5h, 30m, 10s, 100ms, 3microsecond, 7tick) and
 * datetime(...) literals, whose text is taken raw.  Positions are byte
 * offsets into the text.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/unicode.h"
#include "kql/internal.h"

struct lexer {
	const char *text;
	size_t length;
	size_t position;
	struct arena *arena;
	struct kql_error *error;
};

static bool is_identifier_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_identifier_char(unsigned char c)
{
	return is_identifier_start(c) || is_digit(c);
}

static int peek(const struct lexer *lexer, size_t ahead)
{
	size_t position = lexer->position + ahead;

	return position < lexer->length ? (unsigned char)lexer->text[position] : -1;
}

static void skip_space_and_comments(struct lexer *lexer)
{
	for (;;) {
		int c = peek(lexer, 0);

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
			lexer->position++;
		} else if (c == '/' && peek(lexer, 1) == '/') {
			while (lexer->position < lexer->length && lexer->text[lexer->position] != '\n')
				lexer->position++;
		} else {
			return;
		}
	}
}

struct timespan_unit {
	const char *name;
	int64_t ticks;
};

static const struct timespan_unit timespan_units[] = {
	{"d", TICKS_PER_DAY},
	{"day", TICKS_PER_DAY},
	{"days", TICKS_PER_DAY},
	{"h", TICKS_PER_HOUR},
	{"hr", TICKS_PER_HOUR},
	{"hrs", TICKS_PER_HOUR},
	{"hour", TICKS_PER_HOUR},
	{"hours", TICKS_PER_HOUR},
	{"m", TICKS_PER_MINUTE},
	{"min", TICKS_PER_MINUTE},
	{"minute", TICKS_PER_MINUTE},
	{"minutes", TICKS_PER_MINUTE},
	{"s", TICKS_PER_SECOND},
	{"sec", TICKS_PER_SECOND},
	{"second", TICKS_PER_SECOND},
	{"seconds", TICKS_PER_SECOND},
	{"ms", TICKS_PER_MILLISECOND},
	{"milli", TICKS_PER_MILLISECOND},
	{"millis", TICKS_PER_MILLISECOND},
	{"millisecond", TICKS_PER_MILLISECOND},
	{"milliseconds", TICKS_PER_MILLISECOND},
	{"microsecond", TICKS_PER_MICROSECOND},
	{"microseconds", TICKS_PER_MICROSECOND},
	{"tick", 1},
	{"ticks", 1},
};

static int64_t unit_ticks(const char *name, size_t length)
{
	for (size_t i = 0; i < sizeof(timespan_units) / sizeof(timespan_units[0]); i++) {
		if (strlen(timespan_units[i].name) == length &&
		    memcmp(timespan_units[i].name, name, length) == 0)
			return timespan_units[i].ticks;
	}
	return 0;
}

/*
 * digits[.digits] scaled by unit, rounded to the nearest tick, exactly:
 * mantissa (all digits) * unit / 10^fraction_digits.
 */
static int timespan_value(const char *text, size_t length, int64_t unit, int64_t *ticks)
{
	__int128 mantissa = 0;
	__int128 scale = 1;
	bool fraction = false;
	int fraction_digits = 0;

	/* mantissa < 2^64 and unit < 2^40: the product fits in 128 bits */
	for (size_t i = 0; i < length; i++) {
		if (text[i] == '.') {
			fraction = true;
			continue;
		}
		if (fraction && ++fraction_digits > 18)
			break; /* far below a tick */
		mantissa = mantissa * 10 + (text[i] - '0');
		if (mantissa >= ((__int128)1 << 64))
			return -ERANGE;
		if (fraction)
			scale *= 10;
	}
	__int128 value = (mantissa * unit + scale / 2) / scale;

	if (value > INT64_MAX)
		return -ERANGE;
	*ticks = (int64_t)value;
	return 0;
}

static int lex_number(struct lexer *lexer, struct token *token)
{
	size_t start = lexer->position;
	const char *text = lexer->text;
	bool real = false;

	if (peek(lexer, 0) == '0' && (peek(lexer, 1) == 'x' || peek(lexer, 1) == 'X')) {
		lexer->position += 2;
		size_t digits = lexer->position;

		while (lexer->position < lexer->length &&
		       strchr("0123456789abcdefABCDEF", text[lexer->position]) &&
		       text[lexer->position] != '\0')
			lexer->position++;
		if (lexer->position == digits || lexer->position - digits > 16) {
			kql_error_set(lexer->error, KQL_ERROR_SYNTAX, start, "bad hexadecimal number");
			return -EINVAL;
		}
		token->kind = TOKEN_LONG;
		token->number = (int64_t)strtoull(text + digits, NULL, 16);
		token->length = lexer->position - start;
		return 0;
	}
	while (is_digit((unsigned char)peek(lexer, 0)))
		lexer->position++;
	if (peek(lexer, 0) == '.' && is_digit((unsigned char)peek(lexer, 1))) {
		real = true;
		lexer->position++;
		while (is_digit((unsigned char)peek(lexer, 0)))
			lexer->position++;
	}
	size_t number_end = lexer->position;
	int c = peek(lexer, 0);

	if ((c == 'e' || c == 'E') &&
	    (is_digit((unsigned char)peek(lexer, 1)) ||
	     ((peek(lexer, 1) == '+' || peek(lexer, 1) == '-') &&
	      is_digit((unsigned char)peek(lexer, 2))))) {
		real = true;
		lexer->position += 2;
		while (is_digit((unsigned char)peek(lexer, 0)))
			lexer->position++;
		number_end = lexer->position;
	} else if (c >= 0 && is_identifier_start((unsigned char)c)) {
		size_t unit_start = lexer->position;

		while (is_identifier_char((unsigned char)peek(lexer, 0)))
			lexer->position++;
		int64_t unit = unit_ticks(text + unit_start, lexer->position - unit_start);

		if (!unit) {
			kql_error_set(lexer->error, KQL_ERROR_SYNTAX, unit_start,
				  "unknown timespan unit '%.*s' (expected d, h, m, s, ms, "
				  "microsecond or tick)",
				  (int)(lexer->position - unit_start), text + unit_start);
			return -EINVAL;
		}
		token->kind = TOKEN_TIMESPAN;
		token->length = lexer->position - start;
		if (timespan_value(text + start, number_end - start, unit, &token->number) < 0) {
			kql_error_set(lexer->error, KQL_ERROR_SYNTAX, start, "timespan out of range");
			return -EINVAL;
		}
		return 0;
	}
	token->length = lexer->position - start;
	char buffer[64];
	size_t size = number_end - start;

	if (size >= sizeof(buffer)) {
		kql_error_set(lexer->error, KQL_ERROR_SYNTAX, start, "number too long");
		return -EINVAL;
	}
	memcpy(buffer, text + start, size);
	buffer[size] = '\0';
	errno = 0;
	if (real) {
		token->kind = TOKEN_REAL;
		token->real = strtod(buffer, NULL);
	} else {
		token->kind = TOKEN_LONG;
		token->number = strtoll(buffer, NULL, 10);
		if (errno == ERANGE) {
			kql_error_set(lexer->error, KQL_ERROR_SYNTAX, start,
				  "number '%s' out of range for long", buffer);
			return -EINVAL;
		}
	}
	return 0;
}

/* One escape after a backslash at position; appends to out. */
static int lex_escape(struct lexer *lexer, char *out, size_t *used)
{
	size_t start = lexer->position - 1;
	int c = peek(lexer, 0);

	lexer->position++;
	switch (c) {
	case 'n':
		out[(*used)++] = '\n';
		return 0;
	case 't':
		out[(*used)++] = '\t';
		return 0;
	case 'r':
		out[(*used)++] = '\r';
		return 0;
	case '0':
		out[(*used)++] = '\0';
		return 0;
	case '\\':
	case '\'':
	case '"':
		out[(*used)++] = (char)c;
		return 0;
	case 'u': {
		unsigned long code = 0;

		for (int i = 0; i < 4; i++) {
			int digit = text_hex_digit(peek(lexer, 0));

			if (digit < 0) {
				kql_error_set(lexer->error, KQL_ERROR_SYNTAX, start,
					  "expected four hexadecimal digits after \\u");
				return -EINVAL;
			}
			code = code * 16 + (unsigned long)digit;
			lexer->position++;
		}
		*used += unicode_encode((uint32_t)code, out + *used);
		return 0;
	}
	default:
		kql_error_set(lexer->error, KQL_ERROR_SYNTAX, start,
			  "unknown escape sequence in string (expected \\n \\t \\r \\\\ \\' \\\" "
			  "or \\uXXXX)");
		return -EINVAL;
	}
}

static int lex_string(struct lexer *lexer, struct token *token, bool verbatim)
{
	size_t start = lexer->position;
	char quote;

	/* past the prefix: @ (verbatim) or h/H (obfuscated) */
	if (verbatim || peek(lexer, 0) == 'h' || peek(lexer, 0) == 'H')
		lexer->position++;
	quote = lexer->text[lexer->position++];
	/* the decoded text is never longer than the raw text up to the quote */
	size_t raw_end = lexer->position;

	while (raw_end < lexer->length) {
		char c = lexer->text[raw_end];

		bool doubled_quote = c == quote && verbatim && raw_end + 1 < lexer->length &&
				     lexer->text[raw_end + 1] == quote;

		if (!doubled_quote && c == quote)
			break;
		/* a doubled quote (verbatim) or an escape takes two bytes */
		raw_end += doubled_quote || (c == '\\' && !verbatim) ? 2 : 1;
	}
	if (raw_end > lexer->length)
		raw_end = lexer->length;
	char *out = arena_alloc(lexer->arena, raw_end - lexer->position + 1);
	size_t used = 0;

	if (!out) {
		kql_error_set(lexer->error, KQL_ERROR_NOMEM, start, "out of memory");
		return -ENOMEM;
	}
	for (;;) {
		int c = peek(lexer, 0);

		if (c < 0 || (c == '\n' && !verbatim)) {
			kql_error_set(lexer->error, KQL_ERROR_SYNTAX, start,
				  "unterminated string: expected a closing %c", quote);
			return -EINVAL;
		}
		lexer->position++;
		if (c == quote) {
			if (verbatim && peek(lexer, 0) == quote) {
				out[used++] = quote;
				lexer->position++;
				continue;
			}
			break;
		}
		if (c == '\\' && !verbatim) {
			int status = lex_escape(lexer, out, &used);

			if (status < 0)
				return status;
			continue;
		}
		out[used++] = (char)c;
	}
	out[used] = '\0';
	token->kind = TOKEN_STRING;
	token->text = out;
	token->text_length = used;
	token->length = lexer->position - start;
	return 0;
}

/* datetime(...) : the raw text between the parentheses. */
static int lex_datetime(struct lexer *lexer, struct token *token, size_t start)
{
	size_t open = lexer->position;

	while (lexer->position < lexer->length && lexer->text[lexer->position] != ')' &&
	       lexer->text[lexer->position] != '\n')
		lexer->position++;
	if (peek(lexer, 0) != ')') {
		kql_error_set(lexer->error, KQL_ERROR_SYNTAX, open - 1,
			  "expected ')' to close datetime(");
		return -EINVAL;
	}
	size_t text_start = open;
	size_t text_end = lexer->position;

	while (text_start < text_end && (lexer->text[text_start] == ' ' || lexer->text[text_start] == '\t'))
		text_start++;
	while (text_end > text_start &&
	       (lexer->text[text_end - 1] == ' ' || lexer->text[text_end - 1] == '\t'))
		text_end--;
	lexer->position++;
	token->kind = TOKEN_DATETIME;
	token->text = arena_strndup(lexer->arena, lexer->text + text_start, text_end - text_start);
	if (!token->text) {
		kql_error_set(lexer->error, KQL_ERROR_NOMEM, start, "out of memory");
		return -ENOMEM;
	}
	token->text_length = text_end - text_start;
	token->offset = start;
	token->length = lexer->position - start;
	return 0;
}

struct punctuation {
	const char *text;
	enum token_kind kind;
};

/* longest first */
static const struct punctuation punctuations[] = {
	{"==", TOKEN_EQ}, {"!=", TOKEN_NE}, {"<>", TOKEN_NE},	 {"<=", TOKEN_LE},
	{">=", TOKEN_GE}, {"=~", TOKEN_EQ_CI}, {"!~", TOKEN_NE_CI}, {"..", TOKEN_DOTDOT},
	{"|", TOKEN_PIPE}, {";", TOKEN_SEMICOLON}, {",", TOKEN_COMMA}, {"(", TOKEN_LPAREN},
	{")", TOKEN_RPAREN}, {"[", TOKEN_LBRACKET}, {"]", TOKEN_RBRACKET}, {"{", TOKEN_LBRACE},
	{"}", TOKEN_RBRACE}, {".", TOKEN_DOT}, {":", TOKEN_COLON},	 {"=", TOKEN_ASSIGN},
	{"<", TOKEN_LT},  {">", TOKEN_GT},	{"!", TOKEN_BANG},	 {"~", TOKEN_TILDE},
	{"+", TOKEN_PLUS}, {"-", TOKEN_MINUS}, {"*", TOKEN_STAR},	 {"/", TOKEN_SLASH},
	{"%", TOKEN_PERCENT},
};

static int lex_one(struct lexer *lexer, struct token *token)
{
	skip_space_and_comments(lexer);
	memset(token, 0, sizeof(*token));
	token->offset = lexer->position;
	int c = peek(lexer, 0);

	if (c < 0) {
		token->kind = TOKEN_END;
		return 0;
	}
	if (c == '\'' || c == '"')
		return lex_string(lexer, token, false);
	if (c == '@' && (peek(lexer, 1) == '\'' || peek(lexer, 1) == '"'))
		return lex_string(lexer, token, true);
	if ((c == 'h' || c == 'H') && (peek(lexer, 1) == '\'' || peek(lexer, 1) == '"'))
		return lex_string(lexer, token, false);
	if (is_digit((unsigned char)c))
		return lex_number(lexer, token);
	if (is_identifier_start((unsigned char)c)) {
		size_t start = lexer->position;

		while (is_identifier_char((unsigned char)peek(lexer, 0)))
			lexer->position++;
		size_t length = lexer->position - start;

		if (length == 8 && memcmp(lexer->text + start, "datetime", 8) == 0) {
			size_t after = lexer->position;

			skip_space_and_comments(lexer);
			if (peek(lexer, 0) == '(') {
				lexer->position++;
				return lex_datetime(lexer, token, start);
			}
			lexer->position = after;
		}
		token->kind = TOKEN_IDENTIFIER;
		token->text = arena_strndup(lexer->arena, lexer->text + start, length);
		if (!token->text) {
			kql_error_set(lexer->error, KQL_ERROR_NOMEM, start, "out of memory");
			return -ENOMEM;
		}
		token->text_length = length;
		token->length = length;
		return 0;
	}
	for (size_t i = 0; i < sizeof(punctuations) / sizeof(punctuations[0]); i++) {
		size_t length = strlen(punctuations[i].text);

		if (lexer->position + length <= lexer->length &&
		    memcmp(lexer->text + lexer->position, punctuations[i].text, length) == 0) {
			token->kind = punctuations[i].kind;
			token->length = length;
			lexer->position += length;
			return 0;
		}
	}
	if (c >= 0x80)
		kql_error_set(lexer->error, KQL_ERROR_SYNTAX, lexer->position,
			  "unexpected non-ASCII character outside a string");
	else if (c < 0x20 || c == 0x7f)
		kql_error_set(lexer->error, KQL_ERROR_SYNTAX, lexer->position,
			  "unexpected control character 0x%02x", c);
	else
		kql_error_set(lexer->error, KQL_ERROR_SYNTAX, lexer->position,
			  "unexpected character '%c'", c);
	return -EINVAL;
}

int kql_lex(const char *text, size_t length, struct arena *arena, struct token **tokens,
	size_t *count, struct kql_error *error)
{
	struct lexer lexer = {text, length, 0, arena, error};
	size_t capacity = 0;
	size_t used = 0;
	struct token *list = NULL;

	for (;;) {
		struct token *grown = arena_array_reserve(arena, list, used, &capacity, used + 1,
							  64, sizeof(*grown));

		if (!grown) {
			kql_error_set(error, KQL_ERROR_NOMEM, 0, "out of memory");
			return -ENOMEM;
		}
		list = grown;
		int status = lex_one(&lexer, &list[used]);

		if (status < 0)
			return status;
		if (list[used++].kind == TOKEN_END)
			break;
	}
	*tokens = list;
	*count = used;
	return 0;
}

const char *kql_token_kind_name(enum token_kind kind)
{
	switch (kind) {
	case TOKEN_END:
		return "end of query";
	case TOKEN_IDENTIFIER:
		return "name";
	case TOKEN_STRING:
		return "string";
	case TOKEN_LONG:
		return "number";
	case TOKEN_REAL:
		return "real number";
	case TOKEN_TIMESPAN:
		return "timespan";
	case TOKEN_DATETIME:
		return "datetime";
	default:
		break;
	}
	for (size_t i = 0; i < sizeof(punctuations) / sizeof(punctuations[0]); i++) {
		if (punctuations[i].kind == kind)
			return punctuations[i].text;
	}
	return "token";
}
