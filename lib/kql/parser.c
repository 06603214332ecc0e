/*
 * parser.c - KQL tokens to a syntax tree.
 *
 * Recursive descent over the token array from lexer.c.  The whole text is
 * parsed before any name is resolved, so a syntax error anywhere is reported
 * before "unknown column" or "unsupported table" errors (compile.c).
 *
 * Precedence, loosest first: '|' pipes, or, and, comparisons and string/set
 * operators (non-associative), + -, * / %, unary -, postfix . and [].
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kql/internal.h"

struct parser {
	const char *text;
	struct token *tokens;
	size_t count;
	size_t position;
	struct arena *arena;
	struct ast_script *script;
	struct kql_error *error;
	unsigned depth;
};

#define MAX_DEPTH 200

static const struct token *current(const struct parser *parser)
{
	return &parser->tokens[parser->position];
}

static const struct token *ahead(const struct parser *parser, size_t n)
{
	size_t position = parser->position + n;

	if (position >= parser->count)
		position = parser->count - 1;
	return &parser->tokens[position];
}

/* The token before the current one (there is one after an advance). */
static const struct token *previous(const struct parser *parser)
{
	return &parser->tokens[parser->position > 0 ? parser->position - 1 : 0];
}

static void advance(struct parser *parser)
{
	if (parser->tokens[parser->position].kind != TOKEN_END)
		parser->position++;
}

static bool is_word(const struct token *token, const char *word)
{
	return token->kind == TOKEN_IDENTIFIER && strcmp(token->text, word) == 0;
}

/* Are two tokens written without space between them? */
static bool adjacent(const struct token *first, const struct token *second)
{
	return first->offset + first->length == second->offset;
}

static void describe(const struct parser *parser, const struct token *token, char *buffer,
		     size_t size)
{
	switch (token->kind) {
	case TOKEN_END:
		snprintf(buffer, size, "the end of the query");
		break;
	case TOKEN_IDENTIFIER:
		snprintf(buffer, size, "'%s'", token->text);
		break;
	case TOKEN_STRING:
		snprintf(buffer, size, "a string");
		break;
	default:
		snprintf(buffer, size, "'%.*s'", (int)(token->length > 40 ? 40 : token->length),
			 parser->text + token->offset);
		break;
	}
}

static int fail(struct parser *parser, const char *expected)
{
	char found[80];

	describe(parser, current(parser), found, sizeof(found));
	kql_error_set(parser->error, KQL_ERROR_SYNTAX, current(parser)->offset,
		  "expected %s, found %s", expected, found);
	return -EINVAL;
}

static int out_of_memory(struct parser *parser)
{
	kql_error_set(parser->error, KQL_ERROR_NOMEM, current(parser)->offset, "out of memory");
	return -ENOMEM;
}

static int expect(struct parser *parser, enum token_kind kind, const char *expected)
{
	if (current(parser)->kind != kind)
		return fail(parser, expected);
	advance(parser);
	return 0;
}

static struct ast *node(struct parser *parser, enum ast_kind kind, size_t offset)
{
	struct ast *ast = arena_alloc(parser->arena, sizeof(*ast));

	if (!ast) {
		out_of_memory(parser);
		return NULL;
	}
	ast->kind = kind;
	ast->offset = offset;
	return ast;
}

/* Room for one more item in an array in the parser's arena. */
static void *grow(struct parser *parser, void *items, size_t count, size_t *capacity,
		  size_t size)
{
	void *grown = arena_array_reserve(parser->arena, items, count, capacity, count + 1, 4,
					  size);

	if (!grown)
		out_of_memory(parser);
	return grown;
}

static int list_push(struct parser *parser, struct ast_list *list, size_t *capacity,
		     struct ast *item)
{
	struct ast **items = grow(parser, list->items, list->count, capacity, sizeof(*items));

	if (!items)
		return -ENOMEM;
	list->items = items;
	list->items[list->count++] = item;
	return 0;
}

static int own_json(struct parser *parser, json_t *json)
{
	struct ast_script *script = parser->script;

	if (!json)
		return out_of_memory(parser);
	json_t **grown = array_reserve(script->json, &script->json_capacity,
				       script->json_count + 1, 8, sizeof(*grown));

	if (!grown) {
		json_decref(json);
		return out_of_memory(parser);
	}
	script->json = grown;
	script->json[script->json_count++] = json;
	return 0;
}

void kql_ast_script_release(struct ast_script *script)
{
	for (size_t i = 0; i < script->json_count; i++)
		json_decref(script->json[i]);
	free(script->json);
	script->json = NULL;
	script->json_count = 0;
	script->json_capacity = 0;
}

static struct ast *parse_tabular(struct parser *parser);
static struct ast *parse_expr(struct parser *parser);
static struct ast *parse_primary(struct parser *parser);
static struct ast *parse_union_source(struct parser *parser);

/* ---- literals ------------------------------------------------------------- */

static bool type_from_name(const char *name, enum value_type *type)
{
	static const struct {
		const char *name;
		enum value_type type;
	} names[] = {
		{"string", VALUE_STRING},     {"long", VALUE_LONG},	    {"int", VALUE_LONG},
		{"real", VALUE_REAL},	      {"double", VALUE_REAL},	    {"decimal", VALUE_REAL},
		{"bool", VALUE_BOOL},	      {"boolean", VALUE_BOOL},	    {"datetime", VALUE_DATETIME},
		{"date", VALUE_DATETIME},     {"timespan", VALUE_TIMESPAN}, {"time", VALUE_TIMESPAN},
		{"dynamic", VALUE_DYNAMIC},   {"guid", VALUE_STRING},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(names[i].name, name) == 0) {
			*type = names[i].type;
			return true;
		}
	}
	return false;
}

static struct ast *literal(struct parser *parser, size_t offset, struct value value)
{
	struct ast *ast = node(parser, AST_LITERAL, offset);

	if (ast)
		ast->literal = value;
	return ast;
}

static struct ast *parse_string_literal(struct parser *parser)
{
	size_t offset = current(parser)->offset;
	size_t total = 0;
	size_t end = parser->position;

	while (parser->tokens[end].kind == TOKEN_STRING)
		total += parser->tokens[end++].text_length;
	char *text = arena_alloc(parser->arena, total + 1);

	if (!text) {
		out_of_memory(parser);
		return NULL;
	}
	size_t used = 0;

	while (current(parser)->kind == TOKEN_STRING) {
		memcpy(text + used, current(parser)->text, current(parser)->text_length);
		used += current(parser)->text_length;
		advance(parser);
	}
	text[used] = '\0';
	return literal(parser, offset, kql_value_string(text, used));
}

static struct ast *parse_datetime_literal(struct parser *parser)
{
	const struct token *token = current(parser);
	struct value value = kql_value_null(VALUE_DATETIME);

	if (strcmp(token->text, "null") != 0) {
		if (kql_parse_datetime_text(token->text, token->text_length, &value.ticks) < 0) {
			kql_error_set(parser->error, KQL_ERROR_SYNTAX, token->offset,
				  "expected a datetime such as datetime(2024-01-31 "
				  "13:45:00.1234567) or datetime(null), found datetime(%.60s)",
				  token->text);
			return NULL;
		}
		value.is_null = false;
	}
	advance(parser);
	return literal(parser, token->offset, value);
}

/* JSON-like contents of dynamic(...). */
static json_t *parse_json_value(struct parser *parser);

/* [v, ...] or {"k": v, ...} inside dynamic(). */
static json_t *parse_json_container(struct parser *parser, bool object)
{
	enum token_kind close = object ? TOKEN_RBRACE : TOKEN_RBRACKET;
	json_t *container = object ? json_object() : json_array();

	advance(parser); /* [ or { */
	if (!container) {
		out_of_memory(parser);
		return NULL;
	}
	while (current(parser)->kind != close) {
		const struct token *key = current(parser);

		if (object) {
			if (key->kind != TOKEN_STRING && key->kind != TOKEN_IDENTIFIER) {
				fail(parser, "a property name in a dynamic object");
				break;
			}
			advance(parser);
			if (expect(parser, TOKEN_COLON, "':' after a property name") < 0)
				break;
		}
		json_t *item = parse_json_value(parser);

		if (!item)
			break;
		if ((object ? json_object_setn_new(container, key->text, key->text_length, item)
			    : json_array_append_new(container, item)) < 0) {
			out_of_memory(parser);
			break;
		}
		if (current(parser)->kind != TOKEN_COMMA) {
			expect(parser, close, object ? "',' or '}' in a dynamic object"
						     : "',' or ']' in a dynamic array");
			break;
		}
		advance(parser);
		if (current(parser)->kind == close) {
			fail(parser, "a value after ','");
			break;
		}
	}
	if (parser->error->kind != KQL_ERROR_NONE) {
		json_decref(container);
		return NULL;
	}
	if (current(parser)->kind == close)
		advance(parser);
	return container;
}

static json_t *parse_json_value(struct parser *parser)
{
	const struct token *token = current(parser);
	bool negative = false;
	json_t *json = NULL;

	if (++parser->depth > MAX_DEPTH) {
		kql_error_set(parser->error, KQL_ERROR_SYNTAX, token->offset, "nesting too deep");
		return NULL;
	}
	if (token->kind == TOKEN_MINUS) {
		negative = true;
		advance(parser);
		token = current(parser);
	}
	switch (token->kind) {
	case TOKEN_LBRACKET:
	case TOKEN_LBRACE:
		if (!negative)
			json = parse_json_container(parser, token->kind == TOKEN_LBRACE);
		break;
	case TOKEN_STRING:
		if (!negative) {
			json = json_stringn(token->text, token->text_length);
			advance(parser);
			if (!json)
				out_of_memory(parser);
		}
		break;
	case TOKEN_LONG:
		json = json_integer(negative ? -token->number : token->number);
		advance(parser);
		break;
	case TOKEN_REAL:
		json = json_real(negative ? -token->real : token->real);
		advance(parser);
		break;
	case TOKEN_TIMESPAN:
	case TOKEN_DATETIME: {
		char buffer[64];
		int64_t ticks = 0;

		if (token->kind == TOKEN_TIMESPAN) {
			kql_format_timespan(negative ? -token->number : token->number, buffer,
					sizeof(buffer));
		} else if (!negative &&
			   kql_parse_datetime_text(token->text, token->text_length, &ticks) == 0) {
			kql_format_datetime(ticks, buffer, sizeof(buffer));
		} else {
			break;
		}
		json = json_string(buffer);
		advance(parser);
		break;
	}
	case TOKEN_IDENTIFIER:
		if (negative)
			break;
		if (strcmp(token->text, "true") == 0)
			json = json_true();
		else if (strcmp(token->text, "false") == 0)
			json = json_false();
		else if (strcmp(token->text, "null") == 0)
			json = json_null();
		if (json)
			advance(parser);
		break;
	default:
		break;
	}
	parser->depth--;
	if (!json && parser->error->kind == KQL_ERROR_NONE)
		fail(parser, "a value (string, number, true, false, null, [...] or {...}) "
			     "inside dynamic()");
	return json;
}

static struct ast *parse_dynamic_literal(struct parser *parser)
{
	size_t offset = current(parser)->offset;

	advance(parser); /* dynamic */
	advance(parser); /* ( */
	json_t *json = parse_json_value(parser);

	if (!json || own_json(parser, json) < 0)
		return NULL;
	if (expect(parser, TOKEN_RPAREN, "')' to close dynamic(") < 0)
		return NULL;
	struct ast *ast = node(parser, AST_DYNAMIC, offset);

	if (ast)
		ast->dynamic = json;
	return ast;
}

/* long(null), real(1.5), bool(true), timespan(1d), ... */
static struct ast *parse_typed_literal(struct parser *parser, enum value_type type)
{
	size_t offset = current(parser)->offset;
	bool negative = false;

	advance(parser); /* type name */
	advance(parser); /* ( */
	struct value value = kql_value_null(type);
	const struct token *token = current(parser);

	if (token->kind == TOKEN_MINUS) {
		negative = true;
		advance(parser);
		token = current(parser);
	}
	if (is_word(token, "null") && !negative) {
		advance(parser);
	} else if (type == VALUE_LONG && token->kind == TOKEN_LONG) {
		value = kql_value_long(negative ? -token->number : token->number);
		advance(parser);
	} else if (type == VALUE_REAL && (token->kind == TOKEN_LONG || token->kind == TOKEN_REAL)) {
		double number = token->kind == TOKEN_LONG ? (double)token->number : token->real;

		value.is_null = false;
		value.r = negative ? -number : number;
		advance(parser);
	} else if (type == VALUE_BOOL && !negative &&
		   (is_word(token, "true") || is_word(token, "false"))) {
		value = kql_value_bool(is_word(token, "true"));
		advance(parser);
	} else if (type == VALUE_TIMESPAN && token->kind == TOKEN_TIMESPAN) {
		value.is_null = false;
		value.ticks = negative ? -token->number : token->number;
		advance(parser);
	} else {
		fail(parser, "a literal of the named type, or null");
		return NULL;
	}
	if (expect(parser, TOKEN_RPAREN, "')'") < 0)
		return NULL;
	return literal(parser, offset, value);
}

static struct ast *parse_datatable(struct parser *parser)
{
	struct ast *ast = node(parser, AST_DATATABLE, current(parser)->offset);
	size_t capacity = 0;
	size_t value_capacity = 0;

	if (!ast)
		return NULL;
	advance(parser); /* datatable */
	advance(parser); /* ( */
	for (;;) {
		const struct token *name = current(parser);
		enum value_type type;

		if (name->kind != TOKEN_IDENTIFIER) {
			fail(parser, "a column name in datatable(name:type, ...)");
			return NULL;
		}
		advance(parser);
		if (expect(parser, TOKEN_COLON, "':' and a type after the column name") < 0)
			return NULL;
		if (current(parser)->kind != TOKEN_IDENTIFIER ||
		    !type_from_name(current(parser)->text, &type)) {
			fail(parser, "a type (string, long, int, real, bool, datetime, timespan, "
				     "dynamic)");
			return NULL;
		}
		advance(parser);
		struct ast_column_decl *columns =
			grow(parser, ast->datatable.columns, ast->datatable.column_count, &capacity,
			     sizeof(*columns));

		if (!columns)
			return NULL;
		ast->datatable.columns = columns;
		columns[ast->datatable.column_count++] =
			(struct ast_column_decl){name->text, name->offset, type};
		if (current(parser)->kind != TOKEN_COMMA)
			break;
		advance(parser);
	}
	if (expect(parser, TOKEN_RPAREN, "',' or ')' in the datatable columns") < 0 ||
	    expect(parser, TOKEN_LBRACKET, "'[' and the datatable's values") < 0)
		return NULL;
	if (current(parser)->kind != TOKEN_RBRACKET) {
		for (;;) {
			struct ast *value = parse_expr(parser);

			if (!value || list_push(parser, &ast->datatable.values, &value_capacity, value) < 0)
				return NULL;
			if (current(parser)->kind != TOKEN_COMMA)
				break;
			advance(parser);
		}
	}
	if (expect(parser, TOKEN_RBRACKET, "',' or ']' in the datatable's values") < 0)
		return NULL;
	return ast;
}

/* ---- expressions ---------------------------------------------------------- */

static int parse_arguments(struct parser *parser, struct ast_list *args)
{
	size_t capacity = 0;

	advance(parser); /* ( */
	if (current(parser)->kind == TOKEN_RPAREN) {
		advance(parser);
		return 0;
	}
	for (;;) {
		struct ast *arg;

		if (current(parser)->kind == TOKEN_STAR &&
		    (ahead(parser, 1)->kind == TOKEN_RPAREN || ahead(parser, 1)->kind == TOKEN_COMMA)) {
			arg = node(parser, AST_STAR, current(parser)->offset);
			advance(parser);
		} else {
			arg = parse_tabular(parser);
		}
		if (!arg || list_push(parser, args, &capacity, arg) < 0)
			return -EINVAL;
		if (current(parser)->kind != TOKEN_COMMA)
			break;
		advance(parser);
	}
	return expect(parser, TOKEN_RPAREN, "',' or ')' after an argument");
}

/* Tabular operators that start a query (print x = 1, search "x"...) and rmmhunt lacks. */
static bool unsupported_source(const char *name)
{
	static const char *const names[] = {"print", "range", "search", "find", "evaluate"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(names[i], name) == 0)
			return true;
	}
	return false;
}

static struct ast *parse_name_or_call(struct parser *parser)
{
	const struct token *token = current(parser);
	const char *name = token->text;
	bool call = ahead(parser, 1)->kind == TOKEN_LPAREN;
	enum value_type type;

	if (strcmp(name, "union") == 0 && (ahead(parser, 1)->kind == TOKEN_IDENTIFIER ||
					   ahead(parser, 1)->kind == TOKEN_LPAREN))
		return parse_union_source(parser);
	if (!call && unsupported_source(name) && (ahead(parser, 1)->kind == TOKEN_IDENTIFIER ||
						  ahead(parser, 1)->kind == TOKEN_STRING)) {
		kql_error_set(parser->error, KQL_ERROR_UNSUPPORTED, token->offset,
			      "the '%s' operator is not supported by rmmhunt", name);
		return NULL;
	}
	if (!call) {
		if (strcmp(name, "true") == 0 || strcmp(name, "True") == 0 ||
		    strcmp(name, "TRUE") == 0 || strcmp(name, "false") == 0 ||
		    strcmp(name, "False") == 0 || strcmp(name, "FALSE") == 0) {
			advance(parser);
			return literal(parser, token->offset, kql_value_bool(name[0] == 't' ||
								 name[0] == 'T'));
		}
		struct ast *ast = node(parser, AST_NAME, token->offset);

		if (ast)
			ast->name = name;
		advance(parser);
		return ast;
	}
	if (strcmp(name, "dynamic") == 0)
		return parse_dynamic_literal(parser);
	if (strcmp(name, "datatable") == 0)
		return parse_datatable(parser);
	if (type_from_name(name, &type) && type != VALUE_DYNAMIC && type != VALUE_STRING &&
	    type != VALUE_DATETIME)
		return parse_typed_literal(parser, type);
	struct ast *ast = node(parser, AST_CALL, token->offset);

	if (!ast)
		return NULL;
	ast->call.name = name;
	ast->call.name_offset = token->offset;
	advance(parser);
	if (parse_arguments(parser, &ast->call.args) < 0)
		return NULL;
	return ast;
}

static struct ast *parse_primary(struct parser *parser)
{
	const struct token *token = current(parser);
	struct value value;

	switch (token->kind) {
	case TOKEN_STRING:
		return parse_string_literal(parser);
	case TOKEN_LONG:
		advance(parser);
		return literal(parser, token->offset, kql_value_long(token->number));
	case TOKEN_REAL:
		value = kql_value_null(VALUE_REAL);
		value.is_null = false;
		value.r = token->real;
		advance(parser);
		return literal(parser, token->offset, value);
	case TOKEN_TIMESPAN:
		value = kql_value_null(VALUE_TIMESPAN);
		value.is_null = false;
		value.ticks = token->number;
		advance(parser);
		return literal(parser, token->offset, value);
	case TOKEN_DATETIME:
		return parse_datetime_literal(parser);
	case TOKEN_IDENTIFIER:
		return parse_name_or_call(parser);
	case TOKEN_LPAREN: {
		advance(parser);
		struct ast *inner = parse_tabular(parser);

		if (!inner || expect(parser, TOKEN_RPAREN, "')'") < 0)
			return NULL;
		return inner;
	}
	case TOKEN_LBRACKET:
		if (ahead(parser, 1)->kind == TOKEN_STRING &&
		    ahead(parser, 2)->kind == TOKEN_RBRACKET) {
			struct ast *ast = node(parser, AST_NAME, token->offset);

			if (ast)
				ast->name = ahead(parser, 1)->text;
			advance(parser);
			advance(parser);
			advance(parser);
			return ast;
		}
		break;
	default:
		break;
	}
	fail(parser, "an expression");
	return NULL;
}

static struct ast *parse_postfix(struct parser *parser)
{
	struct ast *base = parse_primary(parser);

	while (base) {
		const struct token *token = current(parser);

		if (token->kind == TOKEN_DOT) {
			advance(parser);
			const struct token *name = current(parser);
			struct ast *member = node(parser, AST_MEMBER, token->offset);

			if (!member)
				return NULL;
			if (name->kind == TOKEN_IDENTIFIER) {
				member->member.name = name->text;
				advance(parser);
			} else if (name->kind == TOKEN_LBRACKET && ahead(parser, 1)->kind == TOKEN_STRING &&
				   ahead(parser, 2)->kind == TOKEN_RBRACKET) {
				member->member.name = ahead(parser, 1)->text;
				advance(parser);
				advance(parser);
				advance(parser);
			} else {
				fail(parser, "a property name after '.'");
				return NULL;
			}
			member->member.base = base;
			base = member;
		} else if (token->kind == TOKEN_LBRACKET) {
			advance(parser);
			struct ast *index = node(parser, AST_INDEX, token->offset);

			if (!index)
				return NULL;
			index->member.base = base;
			index->member.index = parse_expr(parser);
			if (!index->member.index || expect(parser, TOKEN_RBRACKET, "']'") < 0)
				return NULL;
			base = index;
		} else {
			break;
		}
	}
	return base;
}

static struct ast *parse_unary(struct parser *parser)
{
	const struct token *token = current(parser);

	if (++parser->depth > MAX_DEPTH) {
		kql_error_set(parser->error, KQL_ERROR_SYNTAX, token->offset, "expression nested too deep");
		return NULL;
	}
	struct ast *result;

	if (token->kind == TOKEN_MINUS) {
		advance(parser);
		result = node(parser, AST_NEGATE, token->offset);
		if (result) {
			result->operand = parse_unary(parser);
			if (!result->operand)
				result = NULL;
		}
	} else if (token->kind == TOKEN_PLUS) {
		advance(parser);
		result = parse_unary(parser);
	} else {
		result = parse_postfix(parser);
	}
	parser->depth--;
	return result;
}

#define MAX_HEIGHT 1000

static struct ast *binary(struct parser *parser, enum op op, size_t offset, struct ast *left,
			  struct ast *right)
{
	if (!left || !right)
		return NULL;
	unsigned height = (left->height > right->height ? left->height : right->height) + 1;

	if (height > MAX_HEIGHT) {
		kql_error_set(parser->error, KQL_ERROR_SYNTAX, offset,
			  "expression too long (more than %d operators in a chain)", MAX_HEIGHT);
		return NULL;
	}
	struct ast *ast = node(parser, AST_BINARY, offset);

	if (!ast)
		return NULL;
	ast->height = height;
	ast->binary.op = op;
	ast->binary.left = left;
	ast->binary.right = right;
	return ast;
}

/* One level of left-associative binary operators. */
struct operator_level {
	enum token_kind tokens[3];
	enum op ops[3];
	size_t count;
	struct ast *(*next)(struct parser *parser);
};

static struct ast *parse_level(struct parser *parser, const struct operator_level *level)
{
	struct ast *left = level->next(parser);

	while (left) {
		const struct token *token = current(parser);
		size_t i = 0;

		while (i < level->count && level->tokens[i] != token->kind)
			i++;
		if (i == level->count)
			break;
		advance(parser);
		left = binary(parser, level->ops[i], token->offset, left, level->next(parser));
	}
	return left;
}

static struct ast *parse_multiplicative(struct parser *parser)
{
	static const struct operator_level level = {
		{TOKEN_STAR, TOKEN_SLASH, TOKEN_PERCENT}, {OP_MUL, OP_DIV, OP_MOD}, 3, parse_unary};

	return parse_level(parser, &level);
}

static struct ast *parse_additive(struct parser *parser)
{
	static const struct operator_level level = {
		{TOKEN_PLUS, TOKEN_MINUS}, {OP_ADD, OP_SUB}, 2, parse_multiplicative};

	return parse_level(parser, &level);
}

/* The word operators: has, contains, in, between, ... */
struct word_operator {
	const char *name;
	enum op op;
	enum kql_match match;
	bool case_sensitive;
	enum set_op set;
};

static const struct word_operator word_operators[] = {
	{"has", OP_STRING, KQL_MATCH_HAS, false, 0},
	{"has_cs", OP_STRING, KQL_MATCH_HAS, true, 0},
	{"hasprefix", OP_STRING, KQL_MATCH_HASPREFIX, false, 0},
	{"hasprefix_cs", OP_STRING, KQL_MATCH_HASPREFIX, true, 0},
	{"hassuffix", OP_STRING, KQL_MATCH_HASSUFFIX, false, 0},
	{"hassuffix_cs", OP_STRING, KQL_MATCH_HASSUFFIX, true, 0},
	{"contains", OP_STRING, KQL_MATCH_CONTAINS, false, 0},
	{"contains_cs", OP_STRING, KQL_MATCH_CONTAINS, true, 0},
	{"startswith", OP_STRING, KQL_MATCH_STARTSWITH, false, 0},
	{"startswith_cs", OP_STRING, KQL_MATCH_STARTSWITH, true, 0},
	{"endswith", OP_STRING, KQL_MATCH_ENDSWITH, false, 0},
	{"endswith_cs", OP_STRING, KQL_MATCH_ENDSWITH, true, 0},
	{"in", OP_SET, 0, true, SET_IN},
	{"has_any", OP_SET, 0, false, SET_HAS_ANY},
	{"has_all", OP_SET, 0, false, SET_HAS_ALL},
	{"between", OP_BETWEEN, 0, false, 0},
	{"matches", OP_REGEX, 0, true, 0},
};

static const struct word_operator *find_word_operator(const char *name)
{
	for (size_t i = 0; i < sizeof(word_operators) / sizeof(word_operators[0]); i++) {
		if (strcmp(word_operators[i].name, name) == 0)
			return &word_operators[i];
	}
	return NULL;
}

/* ( item, item, ... ) after in / has_any / has_all. */
static int parse_item_list(struct parser *parser, const char *operator_name,
			   struct ast_list *items)
{
	size_t capacity = 0;
	char expected[96];

	snprintf(expected, sizeof(expected), "'(' and a list after '%s'", operator_name);
	if (expect(parser, TOKEN_LPAREN, expected) < 0)
		return -EINVAL;
	for (;;) {
		struct ast *item = parse_tabular(parser);

		if (!item || list_push(parser, items, &capacity, item) < 0)
			return -EINVAL;
		if (current(parser)->kind != TOKEN_COMMA)
			break;
		advance(parser);
	}
	snprintf(expected, sizeof(expected), "',' or ')' in the list of '%s'", operator_name);
	return expect(parser, TOKEN_RPAREN, expected);
}

static struct ast *parse_word_operator(struct parser *parser, struct ast *left, bool negate,
				       size_t offset)
{
	const struct token *token = current(parser);
	const struct word_operator *word = find_word_operator(token->text);
	char name[64];

	snprintf(name, sizeof(name), "%s%s", negate ? "!" : "", token->text);
	advance(parser);
	bool tilde = false;

	if (word->op == OP_SET && word->set == SET_IN && current(parser)->kind == TOKEN_TILDE &&
	    adjacent(previous(parser), current(parser))) {
		tilde = true;
		advance(parser);
		strncat(name, "~", sizeof(name) - strlen(name) - 1);
	}
	if (negate && (word->set == SET_HAS_ANY || word->set == SET_HAS_ALL) && word->op == OP_SET) {
		kql_error_set(parser->error, KQL_ERROR_SYNTAX, offset, "'%s' is not a KQL operator", name);
		return NULL;
	}
	struct ast *ast = node(parser, word->op == OP_STRING ? AST_BINARY : AST_LIST_OP, offset);

	if (!ast)
		return NULL;
	ast->binary.left = left;
	switch (word->op) {
	case OP_STRING:
		ast->binary.op = OP_STRING;
		ast->binary.match = (struct string_match){word->match, negate, word->case_sensitive};
		ast->binary.right = parse_additive(parser);
		return ast->binary.right ? ast : NULL;
	case OP_SET:
		ast->binary.op = OP_SET;
		ast->binary.set = word->set;
		if (word->set == SET_IN)
			ast->binary.set = tilde ? (negate ? SET_NOT_IN_CI : SET_IN_CI)
						: (negate ? SET_NOT_IN : SET_IN);
		return parse_item_list(parser, name, &ast->binary.items) < 0 ? NULL : ast;
	case OP_BETWEEN: {
		size_t capacity = 0;

		ast->binary.op = negate ? OP_NOT_BETWEEN : OP_BETWEEN;
		if (expect(parser, TOKEN_LPAREN, "'(' after 'between'") < 0)
			return NULL;
		struct ast *low = parse_expr(parser);

		if (!low || expect(parser, TOKEN_DOTDOT, "'..' between the two ends of 'between'") < 0)
			return NULL;
		struct ast *high = parse_expr(parser);

		if (!high || expect(parser, TOKEN_RPAREN, "')' to close 'between ('") < 0)
			return NULL;
		if (list_push(parser, &ast->binary.items, &capacity, low) < 0 ||
		    list_push(parser, &ast->binary.items, &capacity, high) < 0)
			return NULL;
		return ast;
	}
	case OP_REGEX:
		if (negate) {
			kql_error_set(parser->error, KQL_ERROR_SYNTAX, offset,
				  "'!matches regex' is not KQL; use not(x matches regex y)");
			return NULL;
		}
		if (!is_word(current(parser), "regex")) {
			fail(parser, "'regex' after 'matches'");
			return NULL;
		}
		advance(parser);
		ast->kind = AST_BINARY;
		ast->binary.op = OP_REGEX;
		ast->binary.right = parse_additive(parser);
		return ast->binary.right ? ast : NULL;
	default:
		return NULL;
	}
}

static struct ast *parse_comparison(struct parser *parser)
{
	struct ast *left = parse_additive(parser);

	if (!left)
		return NULL;
	const struct token *token = current(parser);
	enum op op;

	switch (token->kind) {
	case TOKEN_EQ:
		op = OP_EQ;
		break;
	case TOKEN_NE:
		op = OP_NE;
		break;
	case TOKEN_LT:
		op = OP_LT;
		break;
	case TOKEN_LE:
		op = OP_LE;
		break;
	case TOKEN_GT:
		op = OP_GT;
		break;
	case TOKEN_GE:
		op = OP_GE;
		break;
	case TOKEN_EQ_CI:
	case TOKEN_NE_CI: {
		advance(parser);
		struct ast *ast = binary(parser, OP_STRING, token->offset, left, parse_additive(parser));

		if (ast)
			ast->binary.match = (struct string_match){KQL_MATCH_EQUALS,
								  token->kind == TOKEN_NE_CI, false};
		return ast;
	}
	case TOKEN_BANG:
		if (ahead(parser, 1)->kind == TOKEN_IDENTIFIER && adjacent(token, ahead(parser, 1)) &&
		    find_word_operator(ahead(parser, 1)->text) &&
		    strcmp(ahead(parser, 1)->text, "matches") != 0) {
			advance(parser);
			return parse_word_operator(parser, left, true, token->offset);
		}
		return left;
	case TOKEN_IDENTIFIER:
		if (find_word_operator(token->text))
			return parse_word_operator(parser, left, false, token->offset);
		return left;
	default:
		return left;
	}
	advance(parser);
	return binary(parser, op, token->offset, left, parse_additive(parser));
}

static struct ast *parse_and(struct parser *parser)
{
	struct ast *left = parse_comparison(parser);

	while (left && is_word(current(parser), "and")) {
		size_t offset = current(parser)->offset;

		advance(parser);
		left = binary(parser, OP_AND, offset, left, parse_comparison(parser));
	}
	return left;
}

static struct ast *parse_expr(struct parser *parser)
{
	if (++parser->depth > MAX_DEPTH) {
		kql_error_set(parser->error, KQL_ERROR_SYNTAX, current(parser)->offset,
			  "expression nested too deep");
		return NULL;
	}
	struct ast *left = parse_and(parser);

	while (left && is_word(current(parser), "or")) {
		size_t offset = current(parser)->offset;

		advance(parser);
		left = binary(parser, OP_OR, offset, left, parse_and(parser));
	}
	parser->depth--;
	return left;
}

/* ---- tabular operators ---------------------------------------------------- */

/* [name =] expr */
static int parse_assign(struct parser *parser, struct ast_assign *assign)
{
	const struct token *token = current(parser);

	assign->name = NULL;
	if (token->kind == TOKEN_IDENTIFIER && ahead(parser, 1)->kind == TOKEN_ASSIGN) {
		assign->name = token->text;
		assign->name_offset = token->offset;
		advance(parser);
		advance(parser);
	} else if (token->kind == TOKEN_LBRACKET && ahead(parser, 1)->kind == TOKEN_STRING &&
		   ahead(parser, 2)->kind == TOKEN_RBRACKET && ahead(parser, 3)->kind == TOKEN_ASSIGN) {
		assign->name = ahead(parser, 1)->text;
		assign->name_offset = token->offset;
		for (int i = 0; i < 4; i++)
			advance(parser);
	}
	assign->expr = parse_expr(parser);
	return assign->expr ? 0 : -EINVAL;
}

static int parse_assign_list(struct parser *parser, struct ast_assign **items, size_t *count)
{
	size_t capacity = 0;

	for (;;) {
		struct ast_assign *grown = grow(parser, *items, *count, &capacity, sizeof(**items));

		if (!grown)
			return -ENOMEM;
		*items = grown;
		if (parse_assign(parser, &(*items)[*count]) < 0)
			return -EINVAL;
		(*count)++;
		if (current(parser)->kind != TOKEN_COMMA)
			return 0;
		advance(parser);
	}
}

/* Column names, each possibly with '*' wildcards (project-away a, b*). */
static int parse_name_patterns(struct parser *parser, struct ast_tabop *op)
{
	size_t capacity = 0;

	for (;;) {
		size_t start = current(parser)->offset;
		size_t end = start;

		while (current(parser)->kind == TOKEN_IDENTIFIER || current(parser)->kind == TOKEN_STAR) {
			const struct token *token = current(parser);

			if (end != start && token->offset != end)
				break;
			end = token->offset + token->length;
			advance(parser);
		}
		if (end == start)
			return fail(parser, "a column name");
		struct ast_assign *items =
			grow(parser, op->items, op->item_count, &capacity, sizeof(*items));

		if (!items)
			return -ENOMEM;
		op->items = items;
		items[op->item_count].name = arena_strndup(parser->arena, parser->text + start, end - start);
		items[op->item_count].name_offset = start;
		items[op->item_count].expr = NULL;
		if (!items[op->item_count].name)
			return out_of_memory(parser);
		op->item_count++;
		if (is_word(current(parser), "asc") || is_word(current(parser), "desc")) {
			kql_error_set(parser->error, KQL_ERROR_UNSUPPORTED, current(parser)->offset,
				  "asc/desc in project-reorder is not supported");
			return -EINVAL;
		}
		if (current(parser)->kind != TOKEN_COMMA)
			return 0;
		advance(parser);
	}
}

static int parse_sort_key(struct parser *parser, struct ast_sort_key *key)
{
	key->expr = parse_expr(parser);
	key->descending = true; /* Kusto sorts descending unless told */
	key->nulls_first = -1;
	if (!key->expr)
		return -EINVAL;
	if (is_word(current(parser), "asc")) {
		key->descending = false;
		advance(parser);
	} else if (is_word(current(parser), "desc")) {
		advance(parser);
	}
	if (is_word(current(parser), "nulls")) {
		advance(parser);
		if (is_word(current(parser), "first"))
			key->nulls_first = 1;
		else if (is_word(current(parser), "last"))
			key->nulls_first = 0;
		else
			return fail(parser, "'first' or 'last' after 'nulls'");
		advance(parser);
	}
	return 0;
}

static int parse_sort_keys(struct parser *parser, struct ast_tabop *op, bool single)
{
	size_t capacity = 0;

	if (!is_word(current(parser), "by"))
		return fail(parser, "'by'");
	advance(parser);
	for (;;) {
		struct ast_sort_key *keys = grow(parser, op->keys, op->key_count, &capacity,
						 sizeof(*keys));

		if (!keys)
			return -ENOMEM;
		op->keys = keys;
		if (parse_sort_key(parser, &keys[op->key_count]) < 0)
			return -EINVAL;
		op->key_count++;
		if (single || current(parser)->kind != TOKEN_COMMA)
			return 0;
		advance(parser);
	}
}

static int parse_summarize(struct parser *parser, struct ast_tabop *op)
{
	if (!is_word(current(parser), "by") && parse_assign_list(parser, &op->items, &op->item_count) < 0)
		return -EINVAL;
	if (is_word(current(parser), "by")) {
		advance(parser);
		return parse_assign_list(parser, &op->by, &op->by_count);
	}
	if (op->item_count == 0)
		return fail(parser, "an aggregation or 'by'");
	return 0;
}

struct operator_name {
	const char *name;
	enum tabop_kind kind;
};

static const struct operator_name operator_names[] = {
	{"where", TABOP_WHERE},
	{"filter", TABOP_WHERE},
	{"extend", TABOP_EXTEND},
	{"project", TABOP_PROJECT},
	{"project-away", TABOP_PROJECT_AWAY},
	{"project-keep", TABOP_PROJECT_KEEP},
	{"project-reorder", TABOP_PROJECT_REORDER},
	{"project-rename", TABOP_PROJECT_RENAME},
	{"summarize", TABOP_SUMMARIZE},
	{"distinct", TABOP_DISTINCT},
	{"sort", TABOP_SORT},
	{"order", TABOP_SORT},
	{"take", TABOP_TAKE},
	{"limit", TABOP_TAKE},
	{"top", TABOP_TOP},
	{"count", TABOP_COUNT},
	{"join", TABOP_JOIN},
	{"union", TABOP_UNION},
	{"mv-expand", TABOP_MV_EXPAND},
	{"mvexpand", TABOP_MV_EXPAND},
	{"parse", TABOP_PARSE},
	{"parse-where", TABOP_PARSE},
};

/* Real KQL operators rmmhunt does not run: an "unsupported" error. */
static const char *const unsupported_operators[] = {
	"lookup",    "mv-apply",   "parse-kv",	   "make-series",   "render",	   "evaluate",
	"as",
	"invoke",    "getschema",  "serialize",    "sample",	    "sample-distinct", "search",
	"find",	     "facet",	   "fork",	   "partition",	    "reduce",	   "scan",
	"top-nested", "top-hitters", "project-smart", "extend-schema", "consume",   "print",
	"range",     "externaldata",
};

/* An operator name after '|', with its '-' parts (project-away). */
static int operator_name(struct parser *parser, char *buffer, size_t size, size_t *offset)
{
	const struct token *token = current(parser);

	*offset = token->offset;
	if (token->kind != TOKEN_IDENTIFIER)
		return fail(parser, "a tabular operator after '|' (where, extend, project, "
				    "summarize, distinct, sort, take, top, count, join, union, "
				    "mv-expand, parse)");
	snprintf(buffer, size, "%s", token->text);
	advance(parser);
	while (current(parser)->kind == TOKEN_MINUS && adjacent(previous(parser), current(parser)) &&
	       ahead(parser, 1)->kind == TOKEN_IDENTIFIER && adjacent(current(parser), ahead(parser, 1))) {
		size_t used = strlen(buffer);

		snprintf(buffer + used, size - used, "-%s", ahead(parser, 1)->text);
		advance(parser);
		advance(parser);
	}
	return 0;
}

/* ---- join, union, mv-expand, parse ------------------------------------------- */

/* name=value parameters (kind=inner, hint.strategy=shuffle): the name, or NULL. */
static bool parameter_ahead(const struct parser *parser)
{
	const struct token *token = current(parser);

	if (token->kind != TOKEN_IDENTIFIER)
		return false;
	if (ahead(parser, 1)->kind == TOKEN_ASSIGN)
		return true;
	/* hint.strategy = ... */
	return ahead(parser, 1)->kind == TOKEN_DOT && ahead(parser, 2)->kind == TOKEN_IDENTIFIER &&
	       ahead(parser, 3)->kind == TOKEN_ASSIGN;
}

/* Reads one name=value parameter; *name and *value point at their texts. */
static int parameter(struct parser *parser, char *name, size_t size, const struct token **value)
{
	snprintf(name, size, "%s", current(parser)->text);
	advance(parser);
	if (current(parser)->kind == TOKEN_DOT) {
		size_t used = strlen(name);

		advance(parser);
		snprintf(name + used, size - used, ".%s", current(parser)->text);
		advance(parser);
	}
	advance(parser); /* = */
	*value = current(parser);
	if ((*value)->kind != TOKEN_IDENTIFIER && (*value)->kind != TOKEN_STRING &&
	    (*value)->kind != TOKEN_LONG)
		return fail(parser, "a value after '='");
	advance(parser);
	return 0;
}

static const struct {
	const char *name;
	enum join_kind kind;
} join_kinds[] = {
	{"innerunique", JOIN_INNERUNIQUE}, {"inner", JOIN_INNER},
	{"leftouter", JOIN_LEFTOUTER},	   {"rightouter", JOIN_RIGHTOUTER},
	{"fullouter", JOIN_FULLOUTER},	   {"leftanti", JOIN_LEFTANTI},
	{"anti", JOIN_LEFTANTI},	   {"leftantisemi", JOIN_LEFTANTI},
	{"rightanti", JOIN_RIGHTANTI},	   {"rightantisemi", JOIN_RIGHTANTI},
	{"leftsemi", JOIN_LEFTSEMI},	   {"rightsemi", JOIN_RIGHTSEMI},
};

/* $left.Name or $right.Name: which side, or 0. */
static int join_side(const struct ast *ast)
{
	if (ast->kind != AST_MEMBER || ast->member.base->kind != AST_NAME)
		return 0;
	if (strcmp(ast->member.base->name, "$left") == 0)
		return 1;
	if (strcmp(ast->member.base->name, "$right") == 0)
		return 2;
	return 0;
}

/* One condition of on: Name, or $left.A == $right.B (either order), and-ed. */
static int join_condition(struct parser *parser, const struct ast *ast, struct ast_join *join,
			  size_t *capacity)
{
	struct ast_join_key key;

	if (ast->kind == AST_BINARY && ast->binary.op == OP_AND) {
		if (join_condition(parser, ast->binary.left, join, capacity) < 0)
			return -EINVAL;
		return join_condition(parser, ast->binary.right, join, capacity);
	}
	if (ast->kind == AST_NAME && ast->name[0] != '$') {
		key = (struct ast_join_key){ast->name, ast->name, ast->offset, ast->offset};
	} else if (ast->kind == AST_BINARY && ast->binary.op == OP_EQ &&
		   join_side(ast->binary.left) + join_side(ast->binary.right) == 3) {
		const struct ast *left = join_side(ast->binary.left) == 1 ? ast->binary.left
									  : ast->binary.right;
		const struct ast *right = left == ast->binary.left ? ast->binary.right
								    : ast->binary.left;

		key = (struct ast_join_key){left->member.name, right->member.name,
					    left->member.base->offset, right->member.base->offset};
	} else {
		kql_error_set(parser->error, KQL_ERROR_SYNTAX,
			      ast->kind == AST_MEMBER ? ast->member.base->offset : ast->offset,
			      "expected a join condition: a column name, or $left.A == $right.B");
		return -EINVAL;
	}
	struct ast_join_key *keys = grow(parser, join->keys, join->key_count, capacity,
					 sizeof(*keys));

	if (!keys)
		return -ENOMEM;
	join->keys = keys;
	keys[join->key_count++] = key;
	return 0;
}

/* join [kind=K] [hint.x=y ...] (Right) on Conditions */
static int parse_join(struct parser *parser, struct ast_tabop *op)
{
	struct ast_join *join = arena_alloc(parser->arena, sizeof(*join));
	size_t capacity = 0;

	if (!join)
		return out_of_memory(parser);
	memset(join, 0, sizeof(*join));
	op->join = join;
	while (parameter_ahead(parser)) {
		char name[64];
		const struct token *value;
		size_t offset = current(parser)->offset;

		if (parameter(parser, name, sizeof(name), &value) < 0)
			return -EINVAL;
		if (strncmp(name, "hint.", 5) == 0)
			continue; /* execution hints: no effect on the result */
		if (strcmp(name, "kind") != 0) {
			kql_error_set(parser->error, KQL_ERROR_SYNTAX, offset,
				      "unknown join parameter '%s' (expected kind= or hint.*=)", name);
			return -EINVAL;
		}
		size_t i = 0;

		while (i < sizeof(join_kinds) / sizeof(join_kinds[0]) &&
		       (value->kind != TOKEN_IDENTIFIER || strcmp(join_kinds[i].name, value->text) != 0))
			i++;
		if (i == sizeof(join_kinds) / sizeof(join_kinds[0])) {
			kql_error_set(parser->error, KQL_ERROR_SYNTAX, value->offset,
				      "unknown join kind (expected innerunique, inner, leftouter, "
				      "rightouter, fullouter, leftanti, rightanti, leftsemi, rightsemi)");
			return -EINVAL;
		}
		join->kind = join_kinds[i].kind;
	}
	join->right = parse_primary(parser);
	if (!join->right)
		return -EINVAL;
	if (!is_word(current(parser), "on"))
		return fail(parser, "'on' and the join condition");
	advance(parser);
	for (;;) {
		struct ast *condition = parse_expr(parser);

		if (!condition || join_condition(parser, condition, join, &capacity) < 0)
			return -EINVAL;
		if (current(parser)->kind != TOKEN_COMMA)
			return 0;
		advance(parser);
	}
}

/* [kind=inner|outer] [withsource=Name] [isfuzzy=b] Table, Table... */
static struct ast_union *parse_union(struct parser *parser)
{
	struct ast_union *unite = arena_alloc(parser->arena, sizeof(*unite));
	size_t capacity = 0;

	if (!unite) {
		out_of_memory(parser);
		return NULL;
	}
	memset(unite, 0, sizeof(*unite));
	while (parameter_ahead(parser)) {
		char name[64];
		const struct token *value;
		size_t offset = current(parser)->offset;

		if (parameter(parser, name, sizeof(name), &value) < 0)
			return NULL;
		if (strcmp(name, "kind") == 0 && value->kind == TOKEN_IDENTIFIER &&
		    (strcmp(value->text, "inner") == 0 || strcmp(value->text, "outer") == 0)) {
			unite->inner = strcmp(value->text, "inner") == 0;
		} else if (strcmp(name, "withsource") == 0 && value->kind == TOKEN_IDENTIFIER) {
			unite->source_column = value->text;
			unite->source_offset = value->offset;
		} else if (strcmp(name, "isfuzzy") != 0 && strncmp(name, "hint.", 5) != 0) {
			kql_error_set(parser->error, KQL_ERROR_SYNTAX, offset,
				      "unknown union parameter '%s' (expected kind=inner|outer, "
				      "withsource=Name, isfuzzy=)", name);
			return NULL;
		}
	}
	for (;;) {
		if (current(parser)->kind == TOKEN_IDENTIFIER && ahead(parser, 1)->kind == TOKEN_STAR &&
		    adjacent(current(parser), ahead(parser, 1))) {
			kql_error_set(parser->error, KQL_ERROR_UNSUPPORTED, current(parser)->offset,
				      "table name wildcards in union are not supported");
			return NULL;
		}
		struct ast *table = parse_primary(parser);

		if (!table || list_push(parser, &unite->tables, &capacity, table) < 0)
			return NULL;
		if (current(parser)->kind != TOKEN_COMMA)
			return unite;
		advance(parser);
	}
}

static struct ast *parse_union_source(struct parser *parser)
{
	struct ast *ast = node(parser, AST_UNION, current(parser)->offset);

	if (!ast)
		return NULL;
	advance(parser); /* union */
	ast->unite = parse_union(parser);
	return ast->unite ? ast : NULL;
}

/* to typeof(type) after an mv-expand item */
static int parse_expand_type(struct parser *parser, struct ast_expand_item *item)
{
	advance(parser); /* to */
	if (!is_word(current(parser), "typeof") || ahead(parser, 1)->kind != TOKEN_LPAREN)
		return fail(parser, "typeof(type) after 'to'");
	advance(parser);
	advance(parser);
	if (current(parser)->kind != TOKEN_IDENTIFIER ||
	    !type_from_name(current(parser)->text, &item->type))
		return fail(parser, "a type (string, long, int, real, bool, datetime, timespan, "
				    "dynamic)");
	item->typed = true;
	advance(parser);
	return expect(parser, TOKEN_RPAREN, "')' after the type");
}

/* mv-expand [kind=bag|array] [with_itemindex=I] [Name =] Expr [to typeof(T)], ... [limit N] */
static int parse_expand(struct parser *parser, struct ast_tabop *op, bool legacy)
{
	struct ast_expand *expand = arena_alloc(parser->arena, sizeof(*expand));
	size_t capacity = 0;

	if (!expand)
		return out_of_memory(parser);
	memset(expand, 0, sizeof(*expand));
	/* Kusto: 2147483647 rows per input row; the legacy mvexpand 128 */
	expand->limit = legacy ? 128 : INT32_MAX;
	op->expand = expand;
	while (current(parser)->kind == TOKEN_IDENTIFIER && ahead(parser, 1)->kind == TOKEN_ASSIGN &&
	       (is_word(current(parser), "kind") || is_word(current(parser), "bagexpansion") ||
		is_word(current(parser), "with_itemindex"))) {
		char name[64];
		const struct token *value;

		if (parameter(parser, name, sizeof(name), &value) < 0)
			return -EINVAL;
		if (strcmp(name, "with_itemindex") == 0) {
			if (value->kind != TOKEN_IDENTIFIER) {
				kql_error_set(parser->error, KQL_ERROR_SYNTAX, value->offset,
					      "expected a column name after 'with_itemindex='");
				return -EINVAL;
			}
			expand->index_column = value->text;
			expand->index_offset = value->offset;
		} else if (value->kind == TOKEN_IDENTIFIER && (strcmp(value->text, "bag") == 0 ||
							       strcmp(value->text, "array") == 0)) {
			expand->bag_as_array = strcmp(value->text, "array") == 0;
		} else {
			kql_error_set(parser->error, KQL_ERROR_SYNTAX, value->offset,
				      "expected bag or array after '%s='", name);
			return -EINVAL;
		}
	}
	for (;;) {
		struct ast_expand_item *items = grow(parser, expand->items, expand->count, &capacity,
						     sizeof(*items));
		struct ast_assign assign;

		if (!items)
			return -ENOMEM;
		expand->items = items;
		if (parse_assign(parser, &assign) < 0)
			return -EINVAL;
		items[expand->count] = (struct ast_expand_item){assign.name, assign.name_offset,
								assign.expr, false, VALUE_DYNAMIC};
		if (is_word(current(parser), "to") &&
		    parse_expand_type(parser, &items[expand->count]) < 0)
			return -EINVAL;
		expand->count++;
		if (current(parser)->kind != TOKEN_COMMA)
			break;
		advance(parser);
	}
	if (is_word(current(parser), "limit")) {
		advance(parser);
		if (current(parser)->kind != TOKEN_LONG || current(parser)->number < 0)
			return fail(parser, "a number of rows after 'limit'");
		expand->limit = current(parser)->number;
		advance(parser);
	}
	return 0;
}

/* flags=Uims for parse kind=regex */
static int parse_flags(struct parser *parser, const struct token *value, unsigned *flags)
{
	for (const char *c = value->text; *c; c++) {
		if (*c == 'U')
			*flags |= KQL_REGEX_UNGREEDY;
		else if (*c == 'i')
			*flags |= KQL_REGEX_CASELESS;
		else if (*c == 's')
			*flags |= KQL_REGEX_DOTALL;
		else if (*c == 'm')
			*flags |= KQL_REGEX_MULTILINE;
		else {
			kql_error_set(parser->error, KQL_ERROR_SYNTAX, value->offset,
				      "unknown regex flag '%c' (expected U, i, s or m)", *c);
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_element_push(struct parser *parser, struct ast_parse *parse, size_t *capacity,
			      struct ast_parse_element element)
{
	struct ast_parse_element *elements = grow(parser, parse->elements, parse->count, capacity,
						  sizeof(*elements));

	if (!elements)
		return -ENOMEM;
	parse->elements = elements;
	elements[parse->count++] = element;
	return 0;
}

/* parse [kind=simple|regex|relaxed [flags=F]] Expr with [*] "text" Column[:type] ... */
static int parse_parse(struct parser *parser, struct ast_tabop *op, bool where)
{
	struct ast_parse *parse = arena_alloc(parser->arena, sizeof(*parse));
	size_t capacity = 0;

	if (!parse)
		return out_of_memory(parser);
	memset(parse, 0, sizeof(*parse));
	parse->where = where;
	op->parse = parse;
	while (parameter_ahead(parser) &&
	       (is_word(current(parser), "kind") || is_word(current(parser), "flags"))) {
		char name[64];
		const struct token *value;

		if (parameter(parser, name, sizeof(name), &value) < 0)
			return -EINVAL;
		if (value->kind == TOKEN_LONG) {
			kql_error_set(parser->error, KQL_ERROR_SYNTAX, value->offset,
				      "expected a word after '%s='", name);
			return -EINVAL;
		}
		if (strcmp(name, "flags") == 0) {
			if (parse_flags(parser, value, &parse->flags) < 0)
				return -EINVAL;
		} else if (strcmp(value->text, "simple") == 0) {
			parse->kind = PARSE_SIMPLE;
		} else if (strcmp(value->text, "regex") == 0) {
			parse->kind = PARSE_REGEX;
		} else if (strcmp(value->text, "relaxed") == 0) {
			parse->kind = PARSE_RELAXED;
		} else {
			kql_error_set(parser->error, KQL_ERROR_SYNTAX, value->offset,
				      "expected simple, regex or relaxed after 'kind='");
			return -EINVAL;
		}
	}
	parse->source = parse_additive(parser);
	if (!parse->source)
		return -EINVAL;
	if (!is_word(current(parser), "with"))
		return fail(parser, "'with' and the pattern after the parsed expression");
	advance(parser);
	for (;;) {
		const struct token *token = current(parser);
		struct ast_parse_element element = {PARSE_ANY, NULL, 0, NULL, token->offset,
						    VALUE_STRING};

		if (token->kind == TOKEN_COMMA) {
			advance(parser);
			continue;
		}
		if (token->kind == TOKEN_STAR) {
			advance(parser);
		} else if (token->kind == TOKEN_STRING) {
			struct ast *text = parse_string_literal(parser);

			if (!text)
				return -EINVAL;
			element.kind = PARSE_TEXT;
			element.text = text->literal.str;
			element.length = text->literal.len;
		} else if (token->kind == TOKEN_IDENTIFIER) {
			element.kind = PARSE_COLUMN;
			element.name = token->text;
			advance(parser);
			if (current(parser)->kind == TOKEN_COLON) {
				advance(parser);
				if (current(parser)->kind != TOKEN_IDENTIFIER ||
				    !type_from_name(current(parser)->text, &element.type))
					return fail(parser, "a type after ':' (string, long, int, real, "
							    "bool, datetime, timespan, dynamic)");
				advance(parser);
			}
		} else {
			break;
		}
		if (parse_element_push(parser, parse, &capacity, element) < 0)
			return -ENOMEM;
	}
	if (parse->count == 0)
		return fail(parser, "a pattern after 'with' (*, \"text\" and column names)");
	return 0;
}

static int parse_tabop(struct parser *parser, struct ast_tabop *op)
{
	char name[64];
	size_t offset;

	if (operator_name(parser, name, sizeof(name), &offset) < 0)
		return -EINVAL;
	memset(op, 0, sizeof(*op));
	op->offset = offset;
	size_t i;

	for (i = 0; i < sizeof(operator_names) / sizeof(operator_names[0]); i++) {
		if (strcmp(operator_names[i].name, name) == 0)
			break;
	}
	if (i == sizeof(operator_names) / sizeof(operator_names[0])) {
		for (size_t j = 0; j < sizeof(unsupported_operators) / sizeof(unsupported_operators[0]); j++) {
			if (strcmp(unsupported_operators[j], name) == 0) {
				kql_error_set(parser->error, KQL_ERROR_UNSUPPORTED, offset,
					  "the '%s' operator is not supported by rmmhunt", name);
				return -EINVAL;
			}
		}
		kql_error_set(parser->error, KQL_ERROR_SYNTAX, offset,
			  "expected a tabular operator after '|' (where, extend, project, "
			  "summarize, distinct, sort, take, top, count, join, union, mv-expand, "
			  "parse), found '%.60s'",
			  name);
		return -EINVAL;
	}
	op->kind = operator_names[i].kind;
	switch (op->kind) {
	case TABOP_WHERE:
		op->items = arena_alloc(parser->arena, sizeof(*op->items));
		if (!op->items)
			return out_of_memory(parser);
		op->item_count = 1;
		op->items[0].expr = parse_expr(parser);
		return op->items[0].expr ? 0 : -EINVAL;
	case TABOP_EXTEND:
	case TABOP_PROJECT:
	case TABOP_PROJECT_RENAME:
		return parse_assign_list(parser, &op->items, &op->item_count);
	case TABOP_PROJECT_AWAY:
	case TABOP_PROJECT_KEEP:
	case TABOP_PROJECT_REORDER:
		return parse_name_patterns(parser, op);
	case TABOP_SUMMARIZE:
		return parse_summarize(parser, op);
	case TABOP_DISTINCT:
		if (current(parser)->kind == TOKEN_STAR) {
			op->star = true;
			advance(parser);
			return 0;
		}
		return parse_assign_list(parser, &op->items, &op->item_count);
	case TABOP_SORT:
		return parse_sort_keys(parser, op, false);
	case TABOP_TAKE:
		op->limit = parse_expr(parser);
		return op->limit ? 0 : -EINVAL;
	case TABOP_TOP:
		op->limit = parse_additive(parser);
		if (!op->limit)
			return -EINVAL;
		return parse_sort_keys(parser, op, true);
	case TABOP_COUNT:
		return 0;
	case TABOP_JOIN:
		return parse_join(parser, op);
	case TABOP_UNION:
		op->unite = parse_union(parser);
		return op->unite ? 0 : -EINVAL;
	case TABOP_MV_EXPAND:
		return parse_expand(parser, op, strcmp(name, "mvexpand") == 0);
	case TABOP_PARSE:
		return parse_parse(parser, op, strcmp(name, "parse-where") == 0);
	}
	return -EINVAL;
}

static struct ast *parse_tabular(struct parser *parser)
{
	struct ast *source = parse_expr(parser);

	if (!source || current(parser)->kind != TOKEN_PIPE)
		return source;
	struct ast *pipe = node(parser, AST_PIPE, source->offset);
	size_t capacity = 0;

	if (!pipe)
		return NULL;
	pipe->pipe.source = source;
	while (current(parser)->kind == TOKEN_PIPE) {
		advance(parser);
		struct ast_tabop *ops = grow(parser, pipe->pipe.ops, pipe->pipe.op_count, &capacity,
					     sizeof(*ops));

		if (!ops)
			return NULL;
		pipe->pipe.ops = ops;
		if (parse_tabop(parser, &ops[pipe->pipe.op_count]) < 0)
			return NULL;
		pipe->pipe.op_count++;
	}
	return pipe;
}

/* ---- statements ------------------------------------------------------------ */

static int push_statement(struct parser *parser, size_t *capacity, struct ast_statement statement)
{
	struct ast_script *script = parser->script;
	struct ast_statement *statements =
		grow(parser, script->statements, script->count, capacity, sizeof(*statements));

	if (!statements)
		return -ENOMEM;
	script->statements = statements;
	statements[script->count++] = statement;
	return 0;
}

static int parse_let(struct parser *parser, size_t *capacity)
{
	size_t offset = current(parser)->offset;

	advance(parser); /* let */
	const struct token *name = current(parser);

	if (name->kind != TOKEN_IDENTIFIER)
		return fail(parser, "a name after 'let'");
	advance(parser);
	if (expect(parser, TOKEN_ASSIGN, "'=' after the let name") < 0)
		return -EINVAL;
	if (current(parser)->kind == TOKEN_LPAREN &&
	    ((ahead(parser, 1)->kind == TOKEN_IDENTIFIER && ahead(parser, 2)->kind == TOKEN_COLON) ||
	     (ahead(parser, 1)->kind == TOKEN_RPAREN && ahead(parser, 2)->kind == TOKEN_LBRACE))) {
		kql_error_set(parser->error, KQL_ERROR_UNSUPPORTED, current(parser)->offset,
			  "user-defined functions (let f = (...) {...}) are not supported");
		return -EINVAL;
	}
	struct ast *expr = parse_tabular(parser);

	if (!expr)
		return -EINVAL;
	if (expect(parser, TOKEN_SEMICOLON, "';' to end the let statement") < 0)
		return -EINVAL;
	return push_statement(parser, capacity,
			      (struct ast_statement){STATEMENT_LET, name->text, offset, expr});
}

int kql_parse_script(const char *text, size_t length, struct arena *arena, struct ast_script *out,
		 struct kql_error *error)
{
	struct parser parser = {text, NULL, 0, 0, arena, out, error, 0};
	size_t capacity = 0;
	bool have_query = false;
	int status = kql_lex(text, length, arena, &parser.tokens, &parser.count, error);

	memset(out, 0, sizeof(*out));
	if (status < 0)
		return status;
	while (current(&parser)->kind != TOKEN_END) {
		const struct token *token = current(&parser);

		if (token->kind == TOKEN_SEMICOLON) {
			advance(&parser);
			continue;
		}
		if (is_word(token, "let")) {
			status = parse_let(&parser, &capacity);
		} else if (is_word(token, "set") || is_word(token, "declare") ||
			   is_word(token, "alias") || is_word(token, "pattern") ||
			   is_word(token, "restrict")) {
			kql_error_set(error, KQL_ERROR_UNSUPPORTED, token->offset,
				  "'%s' statements are not supported", token->text);
			status = -EINVAL;
		} else if (have_query) {
			kql_error_set(error, KQL_ERROR_UNSUPPORTED, token->offset,
				  "a query has one tabular expression; found another one here "
				  "(missing '|' or ';'?)");
			status = -EINVAL;
		} else {
			struct ast *expr = parse_tabular(&parser);

			status = expr ? push_statement(&parser, &capacity,
						       (struct ast_statement){STATEMENT_QUERY, NULL,
									      token->offset, expr})
				      : -EINVAL;
			have_query = true;
			if (status == 0 && current(&parser)->kind != TOKEN_SEMICOLON &&
			    current(&parser)->kind != TOKEN_END)
				status = fail(&parser, "'|', ';' or the end of the query");
		}
		if (status < 0)
			return error->kind == KQL_ERROR_NOMEM ? -ENOMEM : -EINVAL;
	}
	if (!have_query) {
		kql_error_set(error, KQL_ERROR_SYNTAX, length,
			  "expected a tabular expression (such as DeviceProcessEvents | where ...) "
			  "after the let statements");
		return -EINVAL;
	}
	return 0;
}
