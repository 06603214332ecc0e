/*
 * filetype.c - classifying a file by its magic bytes (see filetype.h).
 *
 * The "#!" line is split the way Linux's binfmt_script does it: blanks
 * after "#!" are skipped, the interpreter ends at the first blank, the rest
 * of the line (trimmed) is one single argument.
 */
#include <errno.h>
#include <string.h>

#include "binident/filetype.h"
#include "binident/pe_image.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void parse_shebang(const char *line, size_t length, struct file_type_info *info)
{
	size_t position = 2;
	size_t start;

	while (position < length && is_blank(line[position]))
		position++;
	start = position;
	while (position < length && !is_blank(line[position]) && line[position] != '\n')
		position++;
	memcpy(info->interpreter, line + start, position - start);
	info->interpreter[position - start] = '\0';
	while (position < length && is_blank(line[position]))
		position++;
	start = position;
	while (position < length && line[position] != '\n')
		position++;
	while (position > start && is_blank(line[position - 1]))
		position--;
	memcpy(info->interpreter_argument, line + start, position - start);
	info->interpreter_argument[position - start] = '\0';
}

int filetype_detect(const struct byte_source *source, struct file_type_info *info)
{
	char head[FILETYPE_SHEBANG_MAX];
	uint64_t available = byte_source_available(source, 0);
	size_t length = available < sizeof(head) ? (size_t)available : sizeof(head);
	bool pe32_plus = false;
	int result;

	memset(info, 0, sizeof(*info));
	info->type = FILE_TYPE_OTHER;
	result = byte_source_read(source, 0, head, length);
	if (result < 0)
		return result;
	if (length >= 2 && head[0] == 'M' && head[1] == 'Z') {
		result = pe_image_probe(source, NULL, &pe32_plus);
		if (result == 0)
			info->type = pe32_plus ? FILE_TYPE_PE32_PLUS : FILE_TYPE_PE32;
		else if (result == -ENOEXEC)
			info->mz_without_pe = true;
		else
			return result;
	} else if (length >= 6 && memcmp(head, "\177ELF", 4) == 0) {
		info->type = FILE_TYPE_ELF;
		info->elf_class = head[4] == 2 ? 64 : 32;
		info->elf_big_endian = head[5] == 2;
	} else if (length >= 2 && head[0] == '#' && head[1] == '!') {
		info->type = FILE_TYPE_SCRIPT;
		parse_shebang(head, length, info);
	}
	return 0;
}

const char *file_type_name(enum file_type type)
{
	switch (type) {
	case FILE_TYPE_PE32:
		return "PE32";
	case FILE_TYPE_PE32_PLUS:
		return "PE32+";
	case FILE_TYPE_ELF:
		return "ELF";
	case FILE_TYPE_SCRIPT:
		return "script";
	case FILE_TYPE_OTHER:
		return "other";
	}
	return "other";
}
