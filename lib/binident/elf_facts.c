/*
 * elf_facts.c - reading build-id, package note, interpreter and Go build
 * info through libelf (see elf_facts.h).
 *
 * The file is opened with ELF_C_READ, so libelf reads headers and the
 * chunks asked for with pread; every chunk is asked for with
 * elf_getdata_rawchunk and a size capped here, so a section that claims to
 * be huge costs nothing.  libelf owns the chunks until elf_end().
 */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>

#include "binident/elf_facts.h"

#define ELF_FACTS_BUDGET (1u << 20)

struct elf_reader {
	Elf *elf;
	struct elf_facts *facts;
	size_t segment_count;
};

static bool open_library(void)
{
	return elf_version(EV_CURRENT) != EV_NONE;
}

/* size bytes at file offset, owned by libelf; NULL when not in the file. */
static const unsigned char *read_chunk(const struct elf_reader *reader, uint64_t offset,
				       size_t size, Elf_Type type)
{
	Elf_Data *data;

	if (size == 0 || offset > INT64_MAX)
		return NULL;
	data = elf_getdata_rawchunk(reader->elf, (int64_t)offset, size, type);
	if (!data || !data->d_buf || data->d_size < size)
		return NULL;
	return data->d_buf;
}

static void hex_encode(const unsigned char *bytes, size_t size, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < size; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * size] = '\0';
}

static void take_note(struct elf_reader *reader, const GElf_Nhdr *header, const char *name,
		      const unsigned char *description)
{
	struct elf_facts *facts = reader->facts;

	if (header->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
	    header->n_type == NT_GNU_BUILD_ID && !facts->build_id &&
	    header->n_descsz > 0 && header->n_descsz <= 64) {
		char *hex = arena_alloc(&facts->arena, 2 * header->n_descsz + 1);

		if (hex)
			hex_encode(description, header->n_descsz, hex);
		facts->build_id = hex;
	}
	if (header->n_namesz == 4 && memcmp(name, "FDO", 4) == 0 &&
	    header->n_type == ELF_FACTS_NOTE_PACKAGE_TYPE && !facts->package_note &&
	    header->n_descsz <= ELF_FACTS_MAX_PACKAGE_NOTE) {
		/* The text is NUL-terminated inside the descriptor; cut at the first NUL. */
		size_t length = strnlen((const char *)description, header->n_descsz);

		facts->package_note = arena_strndup(&facts->arena, (const char *)description, length);
	}
}

/* Walk the notes in size bytes at offset; alignment 8 selects the 8-byte note layout. */
static void read_notes(struct elf_reader *reader, uint64_t offset, uint64_t size,
		       uint64_t alignment)
{
	Elf_Data *data;
	GElf_Nhdr header;
	size_t name_offset;
	size_t description_offset;
	size_t position = 0;
	size_t next;

	if (size == 0 || size > ELF_FACTS_MAX_NOTES_BYTES)
		return;
	data = elf_getdata_rawchunk(reader->elf, (int64_t)offset, (size_t)size,
				    alignment == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
	if (!data || data->d_size < size)
		return;
	while (position < data->d_size &&
	       (next = gelf_getnote(data, position, &header, &name_offset, &description_offset)) > 0) {
		const char *base = data->d_buf;

		take_note(reader, &header, base + name_offset,
			  (const unsigned char *)base + description_offset);
		position = next;
	}
}

static void read_section_notes(struct elf_reader *reader, bool *found)
{
	Elf_Scn *section = NULL;
	GElf_Shdr header;

	while ((section = elf_nextscn(reader->elf, section)) != NULL) {
		if (!gelf_getshdr(section, &header) || header.sh_type != SHT_NOTE)
			continue;
		*found = true;
		read_notes(reader, header.sh_offset, header.sh_size, header.sh_addralign);
	}
}

static void read_segment_notes(struct elf_reader *reader)
{
	GElf_Phdr header;

	for (size_t i = 0; i < reader->segment_count; i++) {
		if (gelf_getphdr(reader->elf, (int)i, &header) && header.p_type == PT_NOTE)
			read_notes(reader, header.p_offset, header.p_filesz, header.p_align);
	}
}

static void read_interpreter(struct elf_reader *reader)
{
	GElf_Phdr header;

	for (size_t i = 0; i < reader->segment_count; i++) {
		if (!gelf_getphdr(reader->elf, (int)i, &header) || header.p_type != PT_INTERP)
			continue;
		if (header.p_filesz == 0 || header.p_filesz > 4096)
			return;
		const unsigned char *path = read_chunk(reader, header.p_offset,
						       (size_t)header.p_filesz, ELF_T_BYTE);
		if (path)
			reader->facts->interpreter = arena_strndup(
				&reader->facts->arena, (const char *)path,
				strnlen((const char *)path, (size_t)header.p_filesz));
		return;
	}
}

/* go_memory_read over the file's PT_LOAD segments. */
static int read_virtual(void *context, uint64_t address, void *out, size_t size)
{
	const struct elf_reader *reader = context;
	GElf_Phdr header;

	if (size == 0)
		return 0;
	for (size_t i = 0; i < reader->segment_count; i++) {
		if (!gelf_getphdr(reader->elf, (int)i, &header) || header.p_type != PT_LOAD)
			continue;
		if (address < header.p_vaddr || address - header.p_vaddr >= header.p_filesz ||
		    size > header.p_filesz - (address - header.p_vaddr))
			continue;
		const unsigned char *chunk = read_chunk(reader, header.p_offset +
							(address - header.p_vaddr), size, ELF_T_BYTE);
		if (!chunk)
			return -ERANGE;
		memcpy(out, chunk, size);
		return 0;
	}
	return -ERANGE;
}

static void parse_go(struct elf_reader *reader, const unsigned char *data, size_t size)
{
	struct elf_facts *facts = reader->facts;

	go_buildinfo_parse(data, size, read_virtual, reader, &facts->go, &facts->go_error);
}

/* The .go.buildinfo section's file range; false when there is none. */
static bool find_go_section(const struct elf_reader *reader, uint64_t *offset, uint64_t *size)
{
	Elf_Scn *section = NULL;
	GElf_Shdr header;
	size_t names;

	if (elf_getshdrstrndx(reader->elf, &names) != 0)
		return false;
	section = elf_getscn(reader->elf, names);
	if (!section || !gelf_getshdr(section, &header) || header.sh_size > ELF_FACTS_MAX_NAMES)
		return false;
	section = NULL;
	while ((section = elf_nextscn(reader->elf, section)) != NULL) {
		const char *name;

		if (!gelf_getshdr(section, &header) || header.sh_type == SHT_NOBITS)
			continue;
		name = elf_strptr(reader->elf, names, header.sh_name);
		if (name && strcmp(name, ".go.buildinfo") == 0) {
			*offset = header.sh_offset;
			*size = header.sh_size;
			return true;
		}
	}
	return false;
}

/*
 * Without a .go.buildinfo section, Go's own reader looks at the start of the
 * first writable, non-executable PT_LOAD segment, 16-byte aligned.
 */
static bool find_go_in_data_segment(const struct elf_reader *reader, uint64_t *offset,
				    uint64_t *size)
{
	GElf_Phdr header;

	for (size_t i = 0; i < reader->segment_count; i++) {
		if (!gelf_getphdr(reader->elf, (int)i, &header) || header.p_type != PT_LOAD ||
		    (header.p_flags & (PF_W | PF_X)) != PF_W)
			continue;
		uint64_t window = header.p_filesz < ELF_FACTS_GO_SEARCH_WINDOW ?
			header.p_filesz : ELF_FACTS_GO_SEARCH_WINDOW;
		const unsigned char *data = read_chunk(reader, header.p_offset, (size_t)window,
						       ELF_T_BYTE);
		for (uint64_t at = 0; data && at + GO_BUILDINFO_HEADER_SIZE <= window; at += 16) {
			if (memcmp(data + at, GO_BUILDINFO_MAGIC, GO_BUILDINFO_MAGIC_SIZE) == 0) {
				*offset = header.p_offset + at;
				*size = header.p_filesz - at;
				return true;
			}
		}
		return false;
	}
	return false;
}

static void read_go(struct elf_reader *reader, bool have_sections)
{
	uint64_t offset;
	uint64_t size;
	bool found = have_sections ? find_go_section(reader, &offset, &size) :
		find_go_in_data_segment(reader, &offset, &size);

	if (!found || size < GO_BUILDINFO_HEADER_SIZE)
		return;
	if (size > ELF_FACTS_MAX_GO_SECTION)
		size = ELF_FACTS_MAX_GO_SECTION;
	const unsigned char *data = read_chunk(reader, offset, (size_t)size, ELF_T_BYTE);
	if (!data)
		size = 0;
	if (size >= GO_BUILDINFO_HEADER_SIZE &&
	    memcmp(data, GO_BUILDINFO_MAGIC, GO_BUILDINFO_MAGIC_SIZE) == 0)
		parse_go(reader, data, (size_t)size);
}

static int read_facts(Elf *elf, struct elf_facts **out, struct parse_error *error)
{
	struct elf_reader reader = {.elf = elf};
	struct elf_facts *facts;
	GElf_Ehdr header;
	size_t section_count = 0;
	bool found_note_sections = false;

	if (!elf || elf_kind(elf) != ELF_K_ELF)
		return parse_error_set(error, -ENOEXEC, "not an ELF file");
	if (!gelf_getehdr(elf, &header) || elf_getphdrnum(elf, &reader.segment_count) != 0 ||
	    elf_getshdrnum(elf, &section_count) != 0)
		return parse_error_set(error, -EBADMSG, "malformed ELF headers: %s", elf_errmsg(-1));
	facts = calloc(1, sizeof(*facts));
	if (!facts)
		return parse_error_set(error, -ENOMEM, "out of memory");
	arena_init(&facts->arena, ELF_FACTS_BUDGET);
	reader.facts = facts;
	facts->elf_class = header.e_ident[EI_CLASS] == ELFCLASS64 ? 64 : 32;
	facts->big_endian = header.e_ident[EI_DATA] == ELFDATA2MSB;
	facts->machine = header.e_machine;
	facts->type = header.e_type;
	read_interpreter(&reader);
	if (section_count > 0)
		read_section_notes(&reader, &found_note_sections);
	if (!found_note_sections)
		read_segment_notes(&reader);
	read_go(&reader, section_count > 0);
	*out = facts;
	return 0;
}

int elf_facts_read_fd(int fd, struct elf_facts **out, struct parse_error *error)
{
	Elf *elf;
	int result;

	*out = NULL;
	if (!open_library())
		return parse_error_set(error, -EINVAL, "libelf: %s", elf_errmsg(-1));
	elf = elf_begin(fd, ELF_C_READ, NULL);
	result = read_facts(elf, out, error);
	elf_end(elf);
	return result;
}

int elf_facts_read_buffer(const void *data, size_t size, struct elf_facts **out,
			  struct parse_error *error)
{
	char *copy;
	Elf *elf;
	int result;

	*out = NULL;
	if (!open_library())
		return parse_error_set(error, -EINVAL, "libelf: %s", elf_errmsg(-1));
	/* libelf may convert a memory image in place: give it a private copy. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return parse_error_set(error, -ENOMEM, "out of memory");
	if (size)
		memcpy(copy, data, size);
	elf = elf_memory(copy, size);
	result = read_facts(elf, out, error);
	elf_end(elf);
	free(copy);
	return result;
}

void elf_facts_free(struct elf_facts *facts)
{
	if (!facts)
		return;
	go_buildinfo_free(facts->go);
	arena_release(&facts->arena);
	free(facts);
}

const char *elf_machine_name(uint16_t machine)
{
	switch (machine) {
	case EM_386:
		return "i386";
	case EM_X86_64:
		return "x86-64";
	case EM_ARM:
		return "ARM";
	case EM_AARCH64:
		return "AArch64";
	case EM_RISCV:
		return "RISC-V";
	case EM_PPC64:
		return "PowerPC64";
	case EM_S390:
		return "S/390";
	case EM_MIPS:
		return "MIPS";
	default:
		return NULL;
	}
}
