/*
 * format.c - printing result tables: an aligned terminal table, JSON (one
 * object per row, columns in the query's order) or CSV (RFC 4180).
 *
 * Values print the same way in all three: datetimes as ISO 8601 UTC with 7
 * fractional digits, timespans as [-][d.]hh:mm:ss[.fffffff], reals in the
 * shortest form that reads back exactly, dynamic values as compact JSON.
 * Nulls are JSON null, an empty CSV field, an empty table cell.  Invalid
 * UTF-8 in strings becomes U+FFFD in JSON.  Text from the hosts is
 * hostile: control characters never reach a terminal or a spreadsheet
 * raw (text.h's escaper in all three; CSV also defuses formulas unless
 * KQL_FORMAT_CSV_RAW).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kql/internal.h"
#include "kql/kql_format.h"
#include "base/strbuf.h"
#include "base/text.h"

#define DEFAULT_CELL_WIDTH 48

int kql_format_parse(const char *name, enum kql_format *format)
{
	if (strcmp(name, "table") == 0)
		*format = KQL_FORMAT_TABLE;
	else if (strcmp(name, "json") == 0)
		*format = KQL_FORMAT_JSON;
	else if (strcmp(name, "csv") == 0)
		*format = KQL_FORMAT_CSV;
	else
		return -EINVAL;
	return 0;
}

/* The text of a value as all formats show it (malloc'd; NULL on failure). */
static char *value_text(const struct value *value, size_t *length)
{
	char buffer[64] = "";
	const char *text = buffer;

	*length = 0;
	if (value->is_null && value->type != VALUE_STRING) {
		buffer[0] = '\0';
	} else {
		switch (value->type) {
		case VALUE_BOOL:
			text = value->b ? "true" : "false";
			break;
		case VALUE_LONG:
			snprintf(buffer, sizeof(buffer), "%" PRId64, value->l);
			break;
		case VALUE_REAL:
			kql_format_real(value->r, buffer, sizeof(buffer));
			break;
		case VALUE_DATETIME:
			kql_format_datetime(value->ticks, buffer, sizeof(buffer));
			break;
		case VALUE_TIMESPAN:
			kql_format_timespan(value->ticks, buffer, sizeof(buffer));
			break;
		case VALUE_STRING: {
			char *copy = malloc(value->len + 1);

			if (copy) {
				memcpy(copy, value->str, value->len);
				copy[value->len] = '\0';
				*length = value->len;
			}
			return copy;
		}
		case VALUE_DYNAMIC: {
			char *json = json_dumps(value->dyn, JSON_COMPACT | JSON_ENCODE_ANY |
								    JSON_REAL_PRECISION(17));

			if (json)
				*length = strlen(json);
			return json;
		}
		}
	}
	*length = strlen(text);
	return strdup(text);
}

/* ---- JSON ------------------------------------------------------------------------ */

/* A JSON string: escaped by text.h's one escaper (C1 and bidi controls as
 * \uXXXX too; a byte that is not UTF-8 as U+FFFD). */
static void json_write_string(FILE *out, const char *text, size_t length)
{
	struct strbuf quoted;

	strbuf_init(&quoted);
	strbuf_append_char(&quoted, '"');
	text_append_safe(&quoted, text, length, TEXT_ESCAPE_JSON);
	strbuf_append_char(&quoted, '"');
	fwrite(strbuf_text(&quoted), 1, quoted.length, out);
	strbuf_free(&quoted);
}

static void json_write_value(FILE *out, const struct value *value)
{
	char buffer[64];

	if (value->is_null && value->type != VALUE_STRING) {
		fputs("null", out);
		return;
	}
	switch (value->type) {
	case VALUE_BOOL:
		fputs(value->b ? "true" : "false", out);
		return;
	case VALUE_LONG:
		fprintf(out, "%" PRId64, value->l);
		return;
	case VALUE_REAL:
		kql_format_real(value->r, buffer, sizeof(buffer));
		if (isfinite(value->r))
			fputs(buffer, out);
		else
			fprintf(out, "\"%s\"", buffer);
		return;
	case VALUE_STRING:
		json_write_string(out, value->str, value->len);
		return;
	default: {
		size_t length;
		char *text = value_text(value, &length);

		if (!text) {
			fputs("null", out);
			return;
		}
		if (value->type == VALUE_DYNAMIC)
			fputs(text, out);
		else
			json_write_string(out, text, length);
		free(text);
		return;
	}
	}
}

static void print_json(FILE *out, const struct kql_table *table)
{
	for (size_t r = 0; r < table->row_count; r++) {
		const struct value *row = kql_table_row(table, r);

		fputc('{', out);
		for (size_t c = 0; c < table->column_count; c++) {
			if (c)
				fputc(',', out);
			json_write_string(out, table->names[c], strlen(table->names[c]));
			fputc(':', out);
			json_write_value(out, &row[c]);
		}
		fputs("}\n", out);
	}
}

/* ---- CSV --------------------------------------------------------------------------- */

/*
 * A CSV field (RFC 4180: quoted when it holds a comma, a quote, a line
 * break or edge spaces).  Unless raw: control characters escaped as for the
 * terminal (text.h), and a text that a spreadsheet would run as a formula
 * (starting with = + - @) prefixed with a single quote, as OWASP advises
 * against CSV injection; numbers and times are ours, not prefixed.
 */
static void csv_write_field(FILE *out, const char *text, size_t length, bool raw,
			    bool is_text)
{
	struct strbuf safe;
	bool quote;

	strbuf_init(&safe);
	if (!raw) {
		if (is_text && length > 0 && text[0] != '\0' && strchr("=+-@", text[0]))
			strbuf_append_char(&safe, '\'');
		text_append_safe(&safe, text, length, TEXT_ESCAPE_DISPLAY);
		text = strbuf_text(&safe);
		length = safe.length;
	}
	quote = length > 0 && (strpbrk(text, ",\"\r\n") != NULL || text[0] == ' ' ||
			       text[length - 1] == ' ');
	if (!quote) {
		fwrite(text, 1, length, out);
	} else {
		fputc('"', out);
		for (size_t i = 0; i < length; i++) {
			if (text[i] == '"')
				fputc('"', out);
			fputc(text[i], out);
		}
		fputc('"', out);
	}
	strbuf_free(&safe);
}

static bool is_text_type(enum value_type type)
{
	return type == VALUE_STRING || type == VALUE_DYNAMIC;
}

static int print_csv(FILE *out, const struct kql_table *table, bool raw)
{
	for (size_t c = 0; c < table->column_count; c++) {
		if (c)
			fputc(',', out);
		csv_write_field(out, table->names[c], strlen(table->names[c]), raw, true);
	}
	fputs("\r\n", out);
	for (size_t r = 0; r < table->row_count; r++) {
		const struct value *row = kql_table_row(table, r);

		for (size_t c = 0; c < table->column_count; c++) {
			size_t length;
			char *text = value_text(&row[c], &length);

			if (!text)
				return -ENOMEM;
			if (c)
				fputc(',', out);
			csv_write_field(out, text, length, raw, is_text_type(row[c].type));
			free(text);
		}
		fputs("\r\n", out);
	}
	return 0;
}

/* ---- terminal table ------------------------------------------------------------------ */

/*
 * Makes text fit width characters: text is already escaped (no control
 * characters left); a longer text is cut at a character boundary and ends
 * with an ellipsis.  Returns the width in characters.
 */
static size_t fit_cell(char *text, size_t width)
{
	size_t characters = 0;
	size_t cut = 0;
	size_t length = strlen(text);

	for (size_t i = 0; i < length; i++) {
		unsigned char c = (unsigned char)text[i];

		if ((c & 0xc0) == 0x80)
			continue;
		if (characters == width - 1)
			cut = i;
		characters++;
	}
	if (characters <= width)
		return characters;
	/* room for the ellipsis (3 bytes) at cut: cut came from a longer text */
	memcpy(text + cut, "\xe2\x80\xa6", 3);
	text[cut + 3] = '\0';
	return width;
}

/* A cell's text for the terminal: escaped (text.h), with room for an
 * ellipsis where fit_cell cuts.  NULL when out of memory. */
static char *cell_text(const char *text, size_t length)
{
	struct strbuf safe;

	strbuf_init(&safe);
	text_append_safe(&safe, text, length, TEXT_ESCAPE_DISPLAY);
	strbuf_reserve(&safe, 4);
	if (safe.failed || !safe.data) {
		strbuf_free(&safe);
		return safe.failed ? NULL : calloc(1, 4);
	}
	return safe.data;
}

static bool right_aligned(enum value_type type)
{
	return type == VALUE_LONG || type == VALUE_REAL;
}

static void pad(FILE *out, size_t count)
{
	while (count-- > 0)
		fputc(' ', out);
}

static void print_cell(FILE *out, const char *text, size_t width, size_t column_width,
		       bool right, bool last)
{
	if (right)
		pad(out, column_width - width);
	fputs(text, out);
	if (!right && !last)
		pad(out, column_width - width);
}

static int print_table(FILE *out, const struct kql_table *table, size_t max_width)
{
	size_t columns = table->column_count;
	size_t rows = table->row_count;
	size_t cells = (rows + 1) * columns;
	char **texts = calloc(cells + 1, sizeof(*texts));
	size_t *widths = calloc(cells + 1, sizeof(*widths));
	size_t *column_widths = calloc(columns + 1, sizeof(*column_widths));
	int status = texts && widths && column_widths ? 0 : -ENOMEM;

	if (max_width < 2)
		max_width = DEFAULT_CELL_WIDTH;
	for (size_t r = 0; status == 0 && r <= rows; r++) {
		for (size_t c = 0; c < columns; c++) {
			size_t index = r * columns + c;
			size_t length;

			char *text = r == 0 ? strdup(table->names[c])
					    : value_text(&kql_table_row(table, r - 1)[c], &length);

			if (text && r == 0)
				length = strlen(text);
			texts[index] = text ? cell_text(text, length) : NULL;
			free(text);
			if (!texts[index]) {
				status = -ENOMEM;
				break;
			}
			widths[index] = fit_cell(texts[index], max_width);
			if (widths[index] > column_widths[c])
				column_widths[c] = widths[index];
		}
	}
	for (size_t r = 0; status == 0 && r <= rows; r++) {
		for (size_t c = 0; c < columns; c++) {
			size_t index = r * columns + c;

			if (c)
				fputs("  ", out);
			print_cell(out, texts[index], widths[index], column_widths[c],
				   r > 0 && right_aligned(table->types[c]), c + 1 == columns);
		}
		fputc('\n', out);
		if (r == 0) {
			for (size_t c = 0; c < columns; c++) {
				if (c)
					fputs("  ", out);
				for (size_t i = 0; i < column_widths[c]; i++)
					fputc('-', out);
			}
			fputc('\n', out);
		}
	}
	for (size_t i = 0; texts && i < cells; i++)
		free(texts[i]);
	free(texts);
	free(widths);
	free(column_widths);
	return status;
}

int kql_table_print(FILE *out, const struct kql_table *table, enum kql_format format,
		    size_t max_width)
{
	int status = 0;

	switch (format) {
	case KQL_FORMAT_TABLE:
		status = print_table(out, table, max_width);
		break;
	case KQL_FORMAT_JSON:
		print_json(out, table);
		break;
	case KQL_FORMAT_CSV:
	case KQL_FORMAT_CSV_RAW:
		status = print_csv(out, table, format == KQL_FORMAT_CSV_RAW);
		break;
	}
	if (status == 0 && (fflush(out) != 0 || ferror(out)))
		status = -EIO;
	return status;
}
