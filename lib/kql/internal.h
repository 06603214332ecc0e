/*
 * internal.h - what the parts of the KQL engine share with each other.
 *
 * The engine is a pipeline of modules: lexer.c turns text into tokens,
 * parser.c turns tokens into a syntax tree (struct ast), compile.c resolves
 * names and types and turns the tree into typed expressions (struct expr)
 * and pipelines of stages (struct pipeline), eval.c evaluates expressions on
 * a row, exec.c runs pipelines, aggregate.c keeps summarize states,
 * incremental.c keeps them per time window for the agent.  Nothing here is
 * part of the public contract (kql.h, kql_ops.h, kql_format.h).
 */
#ifndef RMMHUNT_KQL_INTERNAL_H
#define RMMHUNT_KQL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/array.h"
#include "kql/kql.h"
#include "kql/kql_format.h"
#include "kql/kql_ops.h"
#include "model/schema.h"
#include "base/text.h"
#include "model/value.h"

typedef struct json_t json_t;

/* ---- arena: bump allocation, freed all at once ------------------------ */

struct arena_block;


/*
 * Scratch space for one row's evaluation: strings built by expressions and
 * dynamic values created on the way.  Reset after each row, so the steady
 * state allocates nothing.
 */
struct scratch {
	struct arena arena;
	json_t **dynamics; /* references to drop on reset */
	size_t dynamic_count;
	size_t dynamic_capacity;
};

void kql_scratch_reset(struct scratch *scratch);
bool kql_scratch_is_empty(const struct scratch *scratch);
void kql_scratch_free(struct scratch *scratch);
/* Keeps a reference of json so it is dropped at the next reset. */
int kql_scratch_keep(struct scratch *scratch, json_t *json);

/* ---- errors ------------------------------------------------------------ */

void kql_error_set(struct kql_error *error, enum kql_error_kind kind, size_t offset,
	       const char *format, ...) __attribute__((format(printf, 4, 5)));
void kql_error_set_message(struct kql_error *error, enum kql_error_kind kind, size_t offset,
		       const char *message);
/* Fills line and column of a set error from the text it points into. */
void kql_error_locate(struct kql_error *error, const char *text, size_t length);

/* ---- values ------------------------------------------------------------ */

struct value kql_value_null(enum value_type type);
struct value kql_value_string(const char *text, size_t length);
struct value kql_value_long(int64_t number);
struct value kql_value_bool(bool flag);
/* Ordering for sort/min/max: nulls first, strings bytewise. */
int kql_value_compare(const struct value *a, const struct value *b);
/* Equality for grouping and `in`: same type, null equals null. */
bool kql_value_equal(const struct value *a, const struct value *b);
uint64_t kql_value_hash(const struct value *value);
uint64_t kql_hash_bytes(const void *data, size_t length, uint64_t seed);
/* Deep copies owning their memory (malloc); kql_value_release frees them. */
int kql_value_copy_owned(struct value *out, const struct value *in);
void kql_value_release(struct value *value);
size_t kql_value_owned_bytes(const struct value *value);
/* Copies strings into arena and takes a dynamic reference. */
int kql_value_copy_arena(struct value *out, const struct value *in, struct arena *arena);
/* Text of a value (tostring); strings built in scratch. */
int kql_value_to_string(const struct value *in, struct scratch *scratch, struct value *out);
/* Conversions as tolong/toreal/...; null when not convertible. */
void kql_value_to_long(const struct value *in, struct value *out);
void kql_value_to_real(const struct value *in, struct value *out);
void kql_value_to_bool(const struct value *in, struct value *out);
void kql_value_to_datetime(const struct value *in, struct value *out);
void kql_value_to_timespan(const struct value *in, struct value *out);
/* dynamic (json) to a typed value; strings point into json. */
void kql_value_from_json(json_t *json, enum value_type type, struct value *out);
/* Bytes of text that are valid UTF-8 from the start. */
size_t kql_utf8_valid_prefix(const char *text, size_t length);
/* A JSON string of text, invalid UTF-8 bytes replaced by U+FFFD. */
json_t *kql_json_string_lossy(const char *text, size_t length);
/* Shortest text that reads back as the same double. */
void kql_format_real(double number, char *buffer, size_t size);

/* ---- string matching (ops.c) ------------------------------------------ */

extern const unsigned char kql_fold_table[256];
extern const unsigned char kql_term_table[256];

/* ---- sets of values for in / in~ / has_any / has_all ------------------- */

enum set_op {
	SET_IN,
	SET_NOT_IN,
	SET_IN_CI,
	SET_NOT_IN_CI,
	SET_HAS_ANY,
	SET_HAS_ALL,
};

/* Distinct values with the sequence number of their first insertion. */
struct value_set {
	struct value *values; /* owned copies */
	uint64_t *sequences;
	size_t count;
	size_t capacity;
	uint32_t *index; /* open addressing, value position + 1 */
	size_t index_size;
	size_t bytes; /* owned memory, for memory caps */
};

int kql_value_set_insert(struct value_set *set, const struct value *value, uint64_t sequence,
		     bool *inserted);
long kql_value_set_find(const struct value_set *set, const struct value *value);
void kql_value_set_free(struct value_set *set);

struct match_set {
	enum set_op op;
	enum value_type type;
	struct value_set values;   /* in, in~ (in~ keeps folded strings) */
	struct kql_needle *needles; /* has_any, has_all */
	char **needle_texts;
	size_t needle_count;
	size_t needle_capacity;
	bool has_null; /* in: a null element (never matches) */
};

int kql_match_set_add(struct match_set *set, const struct value *value);
/* Adds value converted to the set's type; dynamic arrays add each element. */
int kql_match_set_add_converted(struct match_set *set, const struct value *value,
			    struct scratch *scratch);
/* 1 match, 0 no match, for a non-null left value. */
bool kql_match_set_test(const struct match_set *set, const struct value *value);
void kql_match_set_free(struct match_set *set);

/* ---- syntax tree ---------------------------------------------------------- */

enum op {
	OP_OR,
	OP_AND,
	OP_EQ,
	OP_NE,
	OP_LT,
	OP_LE,
	OP_GT,
	OP_GE,
	OP_ADD,
	OP_SUB,
	OP_MUL,
	OP_DIV,
	OP_MOD,
	OP_STRING, /* has, contains, =~ ...: see match */
	OP_SET,	   /* in, has_any ...: see set_op */
	OP_BETWEEN,
	OP_NOT_BETWEEN,
	OP_REGEX,
};

/* One string operator: kind of match, negation, case sensitivity. */
struct string_match {
	enum kql_match kind;
	bool negate;
	bool case_sensitive;
};

enum ast_kind {
	AST_LITERAL,
	AST_DYNAMIC,
	AST_NAME,
	AST_CALL,
	AST_NEGATE,
	AST_BINARY,
	AST_LIST_OP, /* in-family and between: left, items */
	AST_MEMBER,
	AST_INDEX,
	AST_STAR,
	AST_PIPE,
	AST_DATATABLE,
	AST_UNION, /* union T1, T2 as a source */
};

struct ast;

struct ast_list {
	struct ast **items;
	size_t count;
};

struct ast_assign {
	const char *name; /* NULL: default name */
	size_t name_offset;
	struct ast *expr;
};

struct ast_sort_key {
	struct ast *expr;
	bool descending;
	int nulls_first; /* -1 default, 0 last, 1 first */
};

enum tabop_kind {
	TABOP_WHERE,
	TABOP_EXTEND,
	TABOP_PROJECT,
	TABOP_PROJECT_AWAY,
	TABOP_PROJECT_KEEP,
	TABOP_PROJECT_REORDER,
	TABOP_PROJECT_RENAME,
	TABOP_SUMMARIZE,
	TABOP_DISTINCT,
	TABOP_SORT,
	TABOP_TAKE,
	TABOP_TOP,
	TABOP_COUNT,
	TABOP_JOIN,
	TABOP_UNION,
	TABOP_MV_EXPAND,
	TABOP_PARSE,
};

enum join_kind {
	JOIN_INNERUNIQUE, /* Kusto's default: one left row per key */
	JOIN_INNER,
	JOIN_LEFTOUTER,
	JOIN_RIGHTOUTER,
	JOIN_FULLOUTER,
	JOIN_LEFTANTI,
	JOIN_RIGHTANTI,
	JOIN_LEFTSEMI,
	JOIN_RIGHTSEMI,
};

/* on A (left == right == A) or on $left.A == $right.B */
struct ast_join_key {
	const char *left;
	const char *right;
	size_t left_offset;
	size_t right_offset;
};

struct ast_join {
	enum join_kind kind;
	struct ast *right;
	struct ast_join_key *keys;
	size_t key_count;
};

struct ast_union {
	struct ast_list tables;
	bool inner;		   /* kind=inner: the columns all tables have */
	const char *source_column; /* withsource=Name */
	size_t source_offset;
};

struct ast_expand_item {
	const char *name; /* NULL: the expression's column name */
	size_t name_offset;
	struct ast *expr;
	bool typed; /* to typeof(type) */
	enum value_type type;
};

struct ast_expand {
	struct ast_expand_item *items;
	size_t count;
	bool bag_as_array;	  /* kind=array / bagexpansion=array */
	const char *index_column; /* with_itemindex=Name */
	size_t index_offset;
	int64_t limit; /* rows per input row */
};

enum parse_element_kind { PARSE_ANY, PARSE_TEXT, PARSE_COLUMN };

struct ast_parse_element {
	enum parse_element_kind kind;
	const char *text; /* PARSE_TEXT: the string (a regex with kind=regex) */
	size_t length;
	const char *name; /* PARSE_COLUMN */
	size_t offset;
	enum value_type type;
};

enum parse_kind { PARSE_SIMPLE, PARSE_REGEX, PARSE_RELAXED };

struct ast_parse {
	enum parse_kind kind;
	unsigned flags; /* KQL_REGEX_* from flags=... */
	bool where;	/* parse-where: rows that do not parse are dropped */
	struct ast *source;
	struct ast_parse_element *elements;
	size_t count;
};

struct ast_tabop {
	enum tabop_kind kind;
	size_t offset;
	struct ast_assign *items; /* where: items[0].expr */
	size_t item_count;
	struct ast_assign *by;
	size_t by_count;
	struct ast_sort_key *keys;
	size_t key_count;
	struct ast *limit; /* take, top */
	bool star;	   /* distinct * */
	struct ast_join *join;
	struct ast_union *unite;
	struct ast_expand *expand;
	struct ast_parse *parse;
};

struct ast_column_decl {
	const char *name;
	size_t offset;
	enum value_type type;
};

struct ast {
	enum ast_kind kind;
	size_t offset;
	unsigned height; /* of binary chains, bounded so recursion stays shallow */
	union {
		struct value literal; /* strings live in the query's arena */
		json_t *dynamic;
		const char *name;
		struct {
			const char *name;
			size_t name_offset;
			struct ast_list args;
		} call;
		struct ast *operand; /* AST_NEGATE */
		struct {
			enum op op;
			struct string_match match;
			enum set_op set;
			struct ast *left;
			struct ast *right;
			struct ast_list items; /* AST_LIST_OP; between: 2 items */
		} binary;
		struct {
			struct ast *base;
			const char *name;
			struct ast *index;
		} member;
		struct {
			struct ast *source;
			struct ast_tabop *ops;
			size_t op_count;
		} pipe;
		struct {
			struct ast_column_decl *columns;
			size_t column_count;
			struct ast_list values;
		} datatable;
		struct ast_union *unite; /* AST_UNION */
	};
};

enum statement_kind { STATEMENT_LET, STATEMENT_QUERY };

struct ast_statement {
	enum statement_kind kind;
	const char *name;
	size_t offset;
	struct ast *expr;
};

struct ast_script {
	struct ast_statement *statements;
	size_t count;
	json_t **json; /* dynamic literals, released with the script */
	size_t json_count;
	size_t json_capacity;
};

/* ---- lexer ------------------------------------------------------------ */

enum token_kind {
	TOKEN_END,
	TOKEN_IDENTIFIER,
	TOKEN_STRING,
	TOKEN_LONG,
	TOKEN_REAL,
	TOKEN_TIMESPAN,
	TOKEN_DATETIME, /* datetime(...) with its raw text */
	TOKEN_PIPE,
	TOKEN_SEMICOLON,
	TOKEN_COMMA,
	TOKEN_LPAREN,
	TOKEN_RPAREN,
	TOKEN_LBRACKET,
	TOKEN_RBRACKET,
	TOKEN_LBRACE,
	TOKEN_RBRACE,
	TOKEN_DOT,
	TOKEN_DOTDOT,
	TOKEN_COLON,
	TOKEN_ASSIGN, /* = */
	TOKEN_EQ,     /* == */
	TOKEN_NE,     /* != or <> */
	TOKEN_LT,
	TOKEN_LE,
	TOKEN_GT,
	TOKEN_GE,
	TOKEN_EQ_CI, /* =~ */
	TOKEN_NE_CI, /* !~ */
	TOKEN_BANG,
	TOKEN_TILDE,
	TOKEN_PLUS,
	TOKEN_MINUS,
	TOKEN_STAR,
	TOKEN_SLASH,
	TOKEN_PERCENT,
};

struct token {
	enum token_kind kind;
	size_t offset;
	size_t length;
	union {
		int64_t number; /* long, timespan ticks */
		double real;
		struct {
			const char *text; /* decoded, NUL-terminated, in the arena */
			size_t text_length;
		};
	};
};

/* Tokenizes all of text; tokens end with TOKEN_END. */
int kql_lex(const char *text, size_t length, struct arena *arena, struct token **tokens,
	size_t *count, struct kql_error *error);
const char *kql_token_kind_name(enum token_kind kind);

int kql_parse_script(const char *text, size_t length, struct arena *arena, struct ast_script *out,
		 struct kql_error *error);
/* Timespan text as timespans print ([-][d.]hh:mm[:ss[.f]]), to ticks. */
int kql_parse_timespan_text(const char *text, size_t length, int64_t *ticks);
/* Datetime text as in datetime(...) literals, to ticks. */
int kql_parse_datetime_text(const char *text, size_t length, int64_t *ticks);
/* Frees the json references a syntax tree holds. */
void kql_ast_script_release(struct ast_script *script);

/* ---- typed expressions ---------------------------------------------------- */

enum expr_kind {
	EXPR_CONST,
	EXPR_SLOT,    /* per-execution constant */
	EXPR_COLUMN,  /* row[column] */
	EXPR_NOW,
	EXPR_ARITH,   /* binary.op: add sub mul div mod */
	EXPR_NEGATE,
	EXPR_COMPARE, /* binary.op: eq ne lt le gt ge */
	EXPR_AND,
	EXPR_OR,
	EXPR_NOT,
	EXPR_STRING,  /* has, contains, ... */
	EXPR_SET,     /* in, has_any ... */
	EXPR_BETWEEN,
	EXPR_REGEX,
	EXPR_CALL,
	EXPR_MEMBER,
	EXPR_INDEX,
	EXPR_IFF,
	EXPR_PARSE, /* one column of the parse operator, or whether the row parses */
};

#define DEPENDS_ROW 1u
#define DEPENDS_NOW 2u
#define DEPENDS_TABLE 4u /* a set read from a table at execution */

struct expr;
struct eval_context;
struct function;

/* The typed columns of one parse operator, for its all-or-nothing rule. */
struct parse_plan {
	struct kql_regex *regex;
	enum value_type *types; /* per capture group 1..count */
	size_t count;
	bool relaxed; /* a column that does not convert is null alone */
};

typedef void (*function_eval)(struct eval_context *context, const struct expr *call,
			      struct value *args, struct value *out);

struct function {
	const char *name;
	unsigned min_args;
	unsigned max_args;
	enum value_type result; /* the result type (check may refine it) */
	bool uses_now;
	/* Checks argument types, sets call->type; message on failure. */
	int (*check)(struct expr *call, char *message, size_t size);
	function_eval eval;
};

const struct function *kql_function_find(const char *name);
/* Is name a Kusto function or aggregation (implemented here or not)? */
bool kql_kusto_function(const char *name);
/* The text functions of functions_text.c (indexof, countof, base64, replace_regex...). */
extern const struct function kql_text_functions[];
extern const size_t kql_text_function_count;

struct expr {
	enum expr_kind kind;
	enum value_type type;
	unsigned depends;
	size_t offset;
	union {
		struct value constant;
		size_t slot;
		size_t column;
		struct {
			enum op op;
			struct expr *left;
			struct expr *right;
		} binary;
		struct expr *operand; /* negate, not */
		struct {
			struct string_match match;
			struct expr *left;
			struct expr *right;
			struct kql_needle needle; /* when right is constant */
			bool constant;
		} string;
		struct {
			enum set_op op;
			struct expr *left;
			struct expr **items; /* evaluated per row when set is NULL */
			size_t count;
			struct match_set *set; /* constant set */
			long set_slot;	       /* >= 0: set built per execution */
		} set;
		struct {
			struct expr *value;
			struct expr *low;
			struct expr *high;
			bool negate;
		} between;
		struct {
			struct expr *operand;
			struct kql_regex *regex;
		} regex;
		struct {
			const struct function *function;
			struct expr **args;
			size_t count;
			struct kql_regex *regexes[2]; /* trim/extract/replace patterns */
		} call;
		struct {
			struct expr *base;
			const char *name;
			struct expr *index;
		} member;
		struct {
			struct expr *condition;
			struct expr *then;
			struct expr *otherwise;
		} iff;
		struct {
			struct expr *operand;
			const struct parse_plan *plan;
			size_t group; /* 1-based; 0: whether the row parses (a bool) */
		} parse;
	};
};

/* ---- pipelines ------------------------------------------------------------ */

struct column {
	const char *name;
	enum value_type type;
	int source; /* column of the source table it passes through, or -1 */
};

struct relation {
	struct column *columns;
	size_t count;
};

enum aggregate_kind {
	AGG_COUNT,
	AGG_COUNTIF,
	AGG_DCOUNT,
	AGG_MIN,
	AGG_MAX,
	AGG_SUM,
	AGG_AVG,
	AGG_MAKE_SET,
	AGG_MAKE_LIST,
	AGG_ARG_MAX,
	AGG_ARG_MIN,
	AGG_TAKE_ANY,
};

struct aggregate_def {
	enum aggregate_kind kind;
	struct expr *arg; /* NULL for count() */
	struct expr **extra; /* arg_max/arg_min/take_any outputs */
	size_t extra_count;
	int64_t cap;	  /* make_set/make_list */
	size_t output_count;
};

struct summarize_plan {
	struct expr **keys;
	size_t key_count;
	struct aggregate_def *aggregates;
	size_t aggregate_count;
};

struct sort_key {
	struct expr *expr;
	bool descending;
	bool nulls_first;
};

enum stage_kind {
	STAGE_WHERE,
	STAGE_MAP, /* extend, project and friends: output[i] = exprs[i] */
	STAGE_SUMMARIZE, /* also distinct */
	STAGE_SORT,
	STAGE_TAKE,
	STAGE_COUNT,
	STAGE_JOIN,   /* with a table read once per execution (a slot) */
	STAGE_UNION,  /* the input's rows, then the slot tables' rows */
	STAGE_EXPAND, /* mv-expand */
};

#define NO_COLUMN ((size_t)-1)

struct join_plan {
	enum join_kind kind;
	size_t slot;		 /* the right side's table */
	struct expr **left_keys; /* over the stage's input */
	size_t *right_keys;	 /* columns of the right table */
	size_t key_count;
	size_t left_count;  /* output columns from the left (0: right semi/anti) */
	size_t right_count; /* output columns from the right (0: left semi/anti) */
};

/* One table of a union: where each output column comes from. */
struct union_part {
	long slot;	  /* -1: the stage's input */
	size_t *columns;  /* per output column: the part's column or NO_COLUMN */
	const char *name; /* withsource value */
};

struct union_plan {
	struct union_part *parts; /* parts[0] is the input */
	size_t part_count;
	size_t source_column; /* withsource column or NO_COLUMN */
};

struct expand_plan {
	struct expr **exprs; /* over the stage's input */
	size_t *columns;     /* output column of each */
	bool *typed;	     /* to typeof(type) */
	size_t count;
	bool bag_as_array;
	size_t index_column; /* with_itemindex or NO_COLUMN */
	int64_t limit;
};

/* A time bound a where conjunct puts on a source column. */
struct time_bound {
	int column;	/* source column */
	bool lower;	/* column >= value (else column <= value) */
	bool exclusive; /* > or < */
	struct expr *value;
	struct expr *conjunct; /* the conjunct it comes from */
};

struct stage {
	enum stage_kind kind;
	size_t offset;
	struct relation output;
	union {
		struct {
			struct expr *predicate;
			/* conjuncts that do not bound time (NULL: none) */
			struct expr *rest;
			struct time_bound *bounds;
			size_t bound_count;
		} where;
		struct {
			struct expr **exprs;
		} map;
		struct summarize_plan summarize;
		struct {
			struct sort_key *keys;
			size_t key_count;
			int64_t limit; /* top N; -1 none */
		} sort;
		int64_t take;
		struct join_plan join;
		struct union_plan unite;
		struct expand_plan expand;
	};
};

struct kql_table;

struct pipeline {
	unsigned depends;	      /* DEPENDS_* of all its expressions */
	int table;		      /* catalog index, or -1 */
	const struct kql_table *constant; /* datatable source */
	struct relation source;
	struct stage *stages;
	size_t stage_count;
	size_t prefix_count; /* leading where/map stages */
	size_t offset;
};

/* A per-execution constant: a scalar, or a set or table read from a subquery. */
struct slot {
	struct expr *expr;	  /* scalar */
	struct pipeline *subquery; /* set, or table */
	enum set_op op;
	enum value_type type;
	bool table; /* the subquery's whole table (join, union) */
};

struct fast_range {
	int column;
	int64_t low;
	int64_t high;
};

struct kql_query {
	struct arena arena;
	char *text;
	size_t text_length;
	const struct table_schema **tables;
	size_t table_count;
	unsigned *table_references;
	struct pipeline *main;
	struct slot *slots;
	size_t slot_count;
	size_t slot_capacity;
	bool depends_on_tables; /* some slot reads a table */
	bool row_only;
	/* row matching when the prefix is only where clauses: time bounds
	 * checked first against ranges computed once per now, then the other
	 * conjuncts, cheapest first */
	bool fast;
	struct expr **fast_conjuncts;
	size_t fast_conjunct_count;
	struct fast_range *fast_ranges;
	size_t fast_range_count;
	bool fast_never; /* a bound compared with null: nothing matches */
	/* some conjunct reads now(): the ranges cannot wait for the conjuncts
	 * (kql_query_row_matches()) */
	bool fast_conjuncts_use_now;
	/* mv-expand (and the where/extend after it) right after the prefix:
	 * a row matches only when these stages keep something of it */
	size_t tail_end; /* stages [prefix_count, tail_end); 0: none */
	/* resources to release */
	json_t **owned_json;
	size_t owned_json_count;
	size_t owned_json_capacity;
	struct kql_regex **regexes;
	size_t regex_count;
	size_t regex_capacity;
	struct match_set **sets;
	size_t set_count;
	size_t set_capacity;
	struct kql_table **constants;
	size_t constant_count;
	size_t constant_capacity;
	/* row matching state (one thread at a time) */
	struct exec_slots *row_slots;
	struct scratch row_scratch;
	struct value **row_buffers; /* one per map stage of the prefix */
};

/* Appends a per-execution slot; its index, or -ENOMEM. */
long kql_query_add_slot(struct kql_query *query, struct slot slot);
int kql_query_own_json(struct kql_query *query, json_t *json);
int kql_query_own_regex(struct kql_query *query, struct kql_regex *regex);
int kql_query_own_set(struct kql_query *query, struct match_set *set);
int kql_query_own_table(struct kql_query *query, struct kql_table *table);

/* ---- compiler (compile.c, kql_compile_expr.c) --------------------------------- */

struct let_binding {
	const char *name;
	struct expr *scalar;	  /* scalar let */
	struct pipeline *pipeline; /* tabular let */
};

struct compiler {
	struct kql_query *query;
	const char *text;
	struct kql_error *error;
	struct let_binding *lets;
	size_t let_count;
	size_t let_capacity;
	struct scratch scratch; /* constant folding */
	/* aggregation calls inside summarize expressions, read from columns */
	const struct ast_assign *substitutions;
	const size_t *substitution_columns;
	size_t substitution_count;
};

struct expr *kql_compile_expr(struct compiler *compiler, const struct ast *ast,
			  const struct relation *row);
/* Calls visit on each child pointer of expr. */
void kql_expr_visit(struct expr *expr, void (*visit)(struct expr **child, void *data), void *data);
/* Moves now()-only subtrees of a top-level expression into slots. */
struct expr *kql_compile_finish(struct compiler *compiler, struct expr *expr);
struct pipeline *kql_compile_tabular(struct compiler *compiler, const struct ast *ast);
/* Shared by compile.c and compile_tabular.c. */
void *kql_compile_alloc(struct compiler *compiler, size_t size, size_t offset);
const struct relation *kql_pipeline_output(const struct pipeline *pipeline);
int kql_relation_alloc(struct compiler *compiler, struct relation *relation, size_t count,
		       size_t offset);
bool kql_relation_has(const struct relation *relation, const char *name);
/* A fresh name not in relation: base, base1, base2... (NULL base: Column1, ...) */
const char *kql_default_name(struct compiler *compiler, const struct relation *relation,
			     const char *base, size_t offset);
struct stage *kql_stage_add(struct pipeline *pipeline, enum stage_kind kind, size_t offset);
struct expr *kql_stage_expr(struct compiler *compiler, struct pipeline *pipeline,
			    const struct ast *ast, const struct relation *row);
struct expr *kql_column_ref(struct compiler *compiler, const struct relation *row, size_t index,
			    size_t offset);
/* A map stage that starts as the identity over the pipeline's output, with room for extra. */
struct stage *kql_map_identity(struct compiler *compiler, struct pipeline *pipeline, size_t extra,
			       size_t offset);
int kql_output_add(struct compiler *compiler, struct relation *output, const char *name,
		   bool explicit_name, enum value_type type, int source, size_t offset);
/* A slot holding the table a subquery returns at each execution. */
long kql_table_slot(struct compiler *compiler, struct pipeline *subquery);
/* The stages of join, union, mv-expand and parse (compile_tabular.c). */
int kql_apply_join(struct compiler *compiler, struct pipeline *pipeline, const struct ast_tabop *op);
/* union: pipeline's rows (first: its source's syntax, for withsource) then the tables'. */
int kql_apply_union(struct compiler *compiler, struct pipeline *pipeline, const struct ast *first,
		    struct ast *const *tables, size_t table_count, const struct ast_union *unite,
		    size_t offset);
int kql_apply_expand(struct compiler *compiler, struct pipeline *pipeline,
		     const struct ast_tabop *op);
int kql_apply_parse(struct compiler *compiler, struct pipeline *pipeline,
		    const struct ast_tabop *op);
struct expr *kql_expr_new(struct compiler *compiler, enum expr_kind kind, enum value_type type,
		      size_t offset);
/* Converts expr to type (dynamic values at run time); NULL with an error. */
struct expr *kql_expr_convert(struct compiler *compiler, struct expr *expr, enum value_type type);
int kql_compile_fail(struct compiler *compiler, enum kql_error_kind kind, size_t offset,
		 const char *format, ...) __attribute__((format(printf, 4, 5)));
/* Runs a pipeline without tables at compile time. */
int kql_compile_run_constant(struct compiler *compiler, const struct pipeline *pipeline,
			 struct kql_table **table);
const char *kql_relation_find_name(const struct relation *relation, const char *name, int *index);

/* Compiles text into query (allocated by the caller, zeroed). */
int kql_compile_query(struct kql_query *query, const char *text, size_t length,
		  struct kql_error *error);

/* Regular expressions in Kusto (RE2) syntax, run by PCRE2 (regex.c). */
#define KQL_REGEX_CASELESS 1u
#define KQL_REGEX_DOTALL 2u
#define KQL_REGEX_MULTILINE 4u
#define KQL_REGEX_UNGREEDY 8u

struct kql_regex;

/* Where a match or a capture group lies in the subject (bytes). */
struct kql_regex_span {
	size_t start;
	size_t end;
	bool set; /* false: the group did not take part in the match */
};

/* Compiles pattern with KQL_REGEX_* flags; message says why not. */
int kql_regex_compile(struct kql_regex **regex, const char *pattern, size_t length, unsigned flags,
		      char *message, size_t size);
/*
 * Searches text from byte offset: 1 when it matches (spans[0] the match,
 * spans[i] group i, for i < span_count), 0 when not.
 */
int kql_regex_search(struct kql_regex *regex, const char *text, size_t length, size_t offset,
		     struct kql_regex_span *spans, size_t span_count);
size_t kql_regex_group_count(const struct kql_regex *regex);
void kql_regex_free(struct kql_regex *regex);

/* ---- evaluation ----------------------------------------------------------- */

struct exec_slots {
	struct value *values;
	struct match_set **sets;
	struct kql_table **tables; /* table slots */
	size_t count;
	struct arena arena;
	int64_t now;
	bool ready;
};

struct eval_context {
	const struct value *row;
	const struct exec_slots *slots;
	struct scratch *scratch;
	int64_t now;
	int error; /* sticky negative errno */
};

void kql_eval_expr(const struct expr *expr, struct eval_context *context, struct value *out);
/* true only for a non-null true */
bool kql_eval_predicate(const struct expr *expr, struct eval_context *context);
/* string view of a value: strings as they are, others via tostring */
bool kql_eval_string(const struct expr *expr, struct eval_context *context, struct value *out);
/* parse_json(X).Name decided from X's text (json_member.c): true with out
 * set; false with base set to the member's base, for the usual lookup. */
bool kql_json_member_fast(const struct expr *expr, struct eval_context *context,
			  struct value *base, struct value *out);
/* Helpers of function evaluation (functions.c): scratch strings, results. */
char *kql_scratch_string(struct eval_context *context, size_t length);
void kql_string_result(struct eval_context *context, const char *text, size_t length,
		       struct value *out);
void kql_dynamic_result(struct eval_context *context, json_t *json, struct value *out);
/* A value's text; strings as they are. */
struct value kql_text_of(struct eval_context *context, const struct value *value);
int64_t kql_count_characters(const char *text, size_t length);
/* Byte offset of character number index (clamped to the end). */
size_t kql_character_offset(const char *text, size_t length, int64_t index);
/*
 * Compiles the constant string argument index of call as a regular
 * expression into call->call.regexes[slot]; anchor: 1 at the start, 2 at
 * the end, 0 none.
 */
int kql_prepare_regex(struct expr *call, size_t index, size_t slot, int anchor, unsigned flags,
		      char *message, size_t size);
/* Applies an arithmetic operator (used by folding and bin()). */
void kql_arith_apply(enum op op, const struct value *a, const struct value *b, enum value_type type,
		 struct value *out);

/* ---- tables --------------------------------------------------------------- */

struct kql_table {
	size_t column_count;
	char **names;
	enum value_type *types;
	struct value *cells;
	size_t row_count;
	size_t row_capacity;
	struct arena strings;
};

struct kql_table *kql_table_new(const struct relation *relation);
int kql_table_append(struct kql_table *table, const struct value *row);

/* ---- summarize states ----------------------------------------------------- */

struct aggregate_state;

struct group {
	struct group *next; /* hash chain */
	uint64_t hash;
	uint64_t first_sequence;
	uint64_t rows;
	int64_t time; /* window column value (incremental) */
	size_t bytes;
	size_t heap_index;
	struct value *keys;
	struct aggregate_state **states;
};

struct group_table {
	const struct summarize_plan *plan;
	struct group **buckets;
	size_t bucket_count;
	size_t count;
	size_t bytes;
	bool keyed_by_time;
	bool unique; /* every insert a new group (row store) */
	size_t key_count;
};

int kql_group_table_init(struct group_table *table, const struct summarize_plan *plan,
		     size_t key_count, bool keyed_by_time, bool unique);
/* Finds or creates the group for keys (and time); *created tells. */
int kql_group_table_get(struct group_table *table, const struct value *keys, int64_t time,
		    uint64_t sequence, struct group **group);
/* Adds one row's values to the group's aggregates. */
int kql_group_add_row(struct group_table *table, struct group *group, struct eval_context *context,
		  uint64_t sequence);
/* Merges the aggregates of from into into. */
int kql_group_merge(struct group_table *table, struct group *into, const struct group *from);
/* Writes the summarize output row of group (keys then aggregates). */
int kql_group_output(const struct group_table *table, const struct group *group,
		 struct scratch *scratch, struct value *row, const struct relation *output);
/* All groups in order of their first row (malloc'd array). */
int kql_group_table_list(const struct group_table *table, struct group ***groups, size_t *count);
void kql_group_free(const struct group_table *table, struct group *group);
void kql_group_table_remove(struct group_table *table, struct group *group);
void kql_group_table_free(struct group_table *table);
size_t kql_summarize_output_count(const struct summarize_plan *plan);

/* ---- execution ------------------------------------------------------------ */

/* Where rows come from: a source, or a table. */
struct row_input {
	const struct kql_source *source;
	const struct kql_table *table;
	size_t position;
};

/* What an execution reads: the caller's sources, tables buffered in memory. */
struct exec_env {
	const struct kql_source *sources;
	size_t source_count;
	struct kql_table **materialized; /* by catalog index; NULL entries stream */
};

const struct kql_source *kql_exec_find_source(const struct kql_query *query, int table,
					  const struct exec_env *env);
int kql_slots_evaluate(const struct kql_query *query, struct exec_slots *slots, int64_t now,
		   const struct exec_env *env, struct kql_error *error);
/* Runs a whole pipeline: from its table's source or its constant table. */
int kql_pipeline_execute(const struct kql_query *query, const struct pipeline *pipeline,
		     const struct exec_slots *slots, int64_t now, const struct exec_env *env,
		     struct kql_table **out, struct kql_error *error);
void kql_slots_free(struct exec_slots *slots);

/*
 * Runs stages [first, pipeline->stage_count) of pipeline over input rows,
 * appending result rows to out (created for the last relation).
 */
int kql_pipeline_run(const struct kql_query *query, const struct pipeline *pipeline, size_t first,
		 struct row_input *input, const struct exec_slots *slots, int64_t now,
		 struct kql_table **out, struct kql_error *error);
/* Evaluates the where/map prefix on one row: 1 passes, 0 not, <0 error. */
int kql_prefix_run(const struct pipeline *pipeline, size_t stage_limit,
	       struct expr *const *predicates, struct eval_context *context,
	       struct value **buffers, const struct value **row);
/* Matching state of single rows: prefix buffers, slots at now. */
int kql_row_state_prepare(struct kql_query *query, struct exec_slots **slots, struct value ***buffers,
		      int64_t now);
/* left and right (either may be NULL), allocated in arena. */
struct expr *kql_expr_and(struct arena *arena, struct expr *left, struct expr *right);
/* The [low, high] the prefix's bounds put on a table column at now. */
int kql_query_bounds(const struct kql_query *query, int column, const struct exec_slots *slots,
		 int64_t now, int64_t *low, int64_t *high);
/*
 * The fast row matcher of a where-only prefix: row columns within ranges,
 * then the query's other conjuncts, cheapest first.  1 passes, 0 not, <0.
 */
int kql_fast_filter(const struct kql_query *query, const struct fast_range *ranges,
		size_t range_count, const struct value *row, struct eval_context *context);
/* Is each ranged column of row non-null and within its range? */
bool kql_fast_ranges_match(const struct fast_range *ranges, size_t range_count,
			   const struct value *row);
/*
 * Does the prefix's output row survive the query's row tail (mv-expand and
 * the where/extend after it)?  1 yes, 0 no, <0 error; 1 when there is no tail.
 */
int kql_row_tail_matches(const struct kql_query *query, const struct value *row,
			 const struct exec_slots *slots, int64_t now);
/* Ranges of the fast row matcher at now (slots at now). */
void kql_fast_ranges_compute(struct kql_query *query, const struct exec_slots *slots, int64_t now);
/* Does the main pipeline's prefix read only the row (no other table)? */
bool kql_prefix_row_only(const struct kql_query *query);
/* After compiling: time bounds of where clauses, row-only flag. */
int kql_analyze_query(struct kql_query *query, struct kql_error *error);
const struct relation *kql_stage_input(const struct pipeline *pipeline, size_t stage);
/* join, union and mv-expand over a whole input table (exec_tables.c). */
int kql_table_stage_run(const struct stage *stage, const struct kql_table *input,
			const struct exec_slots *slots, int64_t now, struct kql_table **out);
/* The output table of a summarize stage from its groups. */
int kql_summarize_table(const struct stage *stage, struct group_table *groups,
		    struct kql_table **out);

/* datetime text (ISO 8601, 7 fractional digits) */
size_t kql_format_datetime(int64_t ticks, char *buffer, size_t size);
size_t kql_format_timespan(int64_t ticks, char *buffer, size_t size);

#endif
