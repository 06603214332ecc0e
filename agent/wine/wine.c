/*
 * wine.c - recognise Wine's execs and resolve the Windows program they start.
 *
 * Three parts: the pure parsers (which exec is what, program paths, Windows
 * command lines, environment blocks, /proc/PID/maps text), the drive table
 * of a prefix (dosdevices), and the resolution that ties them together and
 * opens the .exe.  Only execs wine_classify() accepts ever reach the parts
 * that read the file system.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "base/pathname.h"
#include "base/safe_open.h"
#include "base/text.h"
#include "wine/wine.h"

#define WINE_DRIVES 26
#define WINE_LOOKUP_COMPONENTS_MAX 256
#define WINE_PASSWD_BUFFER 16384
/* The environment is read in chunks, for the few names Wine's start needs;
 * a value longer than a path can be is not one. */
#define WINE_ENVIRON_CHUNK ((size_t)64 * 1024)
#define WINE_ENVIRON_VALUE_MAX 4096

/*
 * What one resolution may cost (issue 9: a 60,000-file directory, a link
 * loop): directory entries compared without case, and CPU time, over all
 * its lookups.  Past either, the lookups stop: the program is "not found"
 * and the record says the budget ran out.
 */
#define WINE_BUDGET_ENTRIES 20000
#define WINE_BUDGET_CPU_NS (50 * 1000000ULL)

struct wine_budget {
	uint32_t entries_left;
	uint64_t cpu_deadline_ns;
	bool exceeded;
};

static uint64_t thread_cpu_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
	return (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
}

static void budget_start(struct wine_budget *budget)
{
	budget->entries_left = WINE_BUDGET_ENTRIES;
	budget->cpu_deadline_ns = thread_cpu_ns() + WINE_BUDGET_CPU_NS;
	budget->exceeded = false;
}

/* Spend one directory entry (and check the clock now and then); false
 * once the budget is gone. */
static bool budget_spend(struct wine_budget *budget)
{
	if (budget->exceeded)
		return false;
	if (budget->entries_left == 0 ||
	    ((budget->entries_left & 255) == 0 && thread_cpu_ns() > budget->cpu_deadline_ns)) {
		budget->exceeded = true;
		return false;
	}
	budget->entries_left--;
	return true;
}

/* --- names ----------------------------------------------------------------- */

static const char *const loader_names[] = {"wine", "wine64"};
static const char *const preloader_names[] = {"wine-preloader", "wine64-preloader"};
/* Shell wrappers that start the loader in the same pid.  The first two pass
 * their arguments on ("$@"); the others are Debian's wineapploader, which
 * names the program itself. */
static const char *const script_names[] = {
	"wine", "wine64", "wineboot", "winecfg", "wineconsole",
	"winedbg", "winefile", "winepath", "wineapploader",
};
#define SCRIPTS_PASSING_ARGUMENTS 2
/* Debian's alternatives: wine-stable, wineboot-development... */
static const char *const script_suffixes[] = {"-stable", "-development"};

#define LOADER_NAMES (sizeof(loader_names) / sizeof(loader_names[0]))
#define PRELOADER_NAMES (sizeof(preloader_names) / sizeof(preloader_names[0]))
#define SCRIPT_NAMES (sizeof(script_names) / sizeof(script_names[0]))
#define SCRIPT_SUFFIXES (sizeof(script_suffixes) / sizeof(script_suffixes[0]))

/* Index of name[0..length) in names, -1 if absent. */
static int name_index(const char *name, size_t length,
		      const char *const *names, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (strlen(names[i]) == length && memcmp(names[i], name, length) == 0)
			return (int)i;
	}
	return -1;
}

/* Index in script_names of a script's file name, -1 if none. */
static int script_index(const char *name)
{
	size_t length = strlen(name);

	if (strncmp(name, "wine", 4) != 0)
		return -1;
	for (size_t i = 0; i < SCRIPT_SUFFIXES; i++) {
		size_t suffix = strlen(script_suffixes[i]);

		if (length > suffix &&
		    strcmp(name + length - suffix, script_suffixes[i]) == 0) {
			length -= suffix;
			break;
		}
	}
	return name_index(name, length, script_names, SCRIPT_NAMES);
}

static bool is_loader_name(const char *name)
{
	return name_index(name, strlen(name), loader_names, LOADER_NAMES) >= 0;
}

bool wine_is_loader_file_name(const char *name)
{
	return is_loader_name(name) ||
	       name_index(name, strlen(name), preloader_names, PRELOADER_NAMES) >= 0;
}

const char *wine_file_name(const char *path)
{
	const char *name = path;

	for (const char *cursor = path; *cursor; cursor++) {
		if (*cursor == '/' || *cursor == '\\')
			name = cursor + 1;
	}
	return name;
}

/* --- which exec is what ------------------------------------------------------ */

/* The argument at index, or NULL when argv has fewer. */
static const char *argv_at(const char *argv, size_t length, size_t index)
{
	size_t offset = 0;

	for (size_t i = 0; i < index; i++) {
		const char *end = memchr(argv + offset, '\0', length - offset);

		if (!end)
			return NULL;
		offset = (size_t)(end - argv) + 1;
		if (offset >= length)
			return NULL;
	}
	return offset < length ? argv + offset : NULL;
}

static bool is_loader_option(const char *argument)
{
	return argument[0] == '\0' || strcmp(argument, "--help") == 0 ||
	       strcmp(argument, "--version") == 0;
}

/* The program argument at index (with what follows it), if there is one. */
static void take_program(struct wine_step *step, const char *argv,
			 size_t length, size_t index)
{
	const char *program = argv_at(argv, length, index);
	size_t used;

	if (!program || is_loader_option(program))
		return;
	step->program = program;
	used = (size_t)(program - argv) + strlen(program) + 1;
	step->arguments = argv + (used < length ? used : length);
	step->arguments_length = used < length ? length - used : 0;
}

static bool classify_loader(const char *exe_path, const char *argv,
			    size_t length, struct wine_step *step)
{
	const char *name = text_basename(exe_path);
	const char *second;

	if (name_index(name, strlen(name), preloader_names, PRELOADER_NAMES) >= 0) {
		/* wine64-preloader /usr/lib/wine/wine64 PROGRAM ... */
		step->kind = WINE_STEP_PRELOADER;
		second = argv_at(argv, length, 1);
		take_program(step, argv, length,
			     second && is_loader_name(text_basename(second)) ? 2 : 1);
	} else if (is_loader_name(name)) {
		step->kind = WINE_STEP_LOADER;
		take_program(step, argv, length, 1);
	} else {
		return false;
	}
	step->loader = exe_path;
	return true;
}

/* A script exec: argv is [interpreter, (one #! argument), script, ...]. */
static bool classify_script(const char *argv, size_t length,
			    struct wine_step *step)
{
	for (size_t index = 1; index <= 2; index++) {
		const char *script = argv_at(argv, length, index);
		int which;

		if (!script)
			return false;
		which = script_index(text_basename(script));
		if (which < 0)
			continue;
		step->kind = WINE_STEP_SCRIPT;
		step->loader = script;
		if (which < SCRIPTS_PASSING_ARGUMENTS)
			take_program(step, argv, length, index + 1);
		return true;
	}
	return false;
}

bool wine_classify(const char *exe_path, const char *filename, const char *interp,
		   const char *argv, size_t length, struct wine_step *step)
{
	bool interpreted = interp[0] && strcmp(interp, filename) != 0;
	bool found = false;

	memset(step, 0, sizeof(*step));
	/* the cheap test: every loader's name starts with "wine" */
	if (strncmp(text_basename(exe_path), "wine", 4) == 0)
		found = classify_loader(exe_path, argv, length, step);
	if (!found && interpreted)
		found = classify_script(argv, length, step);
	if (!found) {
		memset(step, 0, sizeof(*step));
		return false;
	}
	step->program_is_filename = interpreted && step->program &&
				    strcmp(step->program, filename) == 0;
	return true;
}

bool wine_classify_running(const char *exe_path, const char *argv, size_t length,
			   struct wine_step *step)
{
	const char *name = text_basename(exe_path);
	const char *first = argv_at(argv, length, 0);

	memset(step, 0, sizeof(*step));
	if (strncmp(name, "wine", 4) != 0 || !classify_loader(exe_path, argv, length, step))
		return false;
	if (first && !is_loader_name(text_basename(first)) &&
	    name_index(text_basename(first), strlen(text_basename(first)), preloader_names,
		       PRELOADER_NAMES) < 0) {
		/* rewritten by Wine: [program, arguments...] */
		step->program = step->arguments = NULL;
		step->arguments_length = 0;
		take_program(step, argv, length, 0);
	}
	return true;
}

/* --- program paths ------------------------------------------------------------ */

static bool starts_with(const char *text, const char *prefix)
{
	return strncmp(text, prefix, strlen(prefix)) == 0;
}

static bool is_separator(char c)
{
	return c == '\\' || c == '/';
}

/* A copy of text with every '\' turned into '/'. */
static char *forward_slashes(const char *text)
{
	char *copy = strdup(text);

	for (char *cursor = copy; cursor && *cursor; cursor++) {
		if (*cursor == '\\')
			*cursor = '/';
	}
	return copy;
}

/* "/"-rooted normalised path of text (after its root). */
static char *rooted(const char *text, bool backslashes)
{
	char *copy = backslashes ? forward_slashes(text) : strdup(text);
	char *path;

	if (!copy)
		return NULL;
	path = pathname_absolute("/", copy);
	free(copy);
	return path;
}

static int parse_dos(const char *text, struct wine_path *path)
{
	path->kind = WINE_PATH_DOS;
	path->drive = (char)tolower((unsigned char)text[0]);
	path->path = rooted(text + 2, true);
	return path->path ? 0 : -ENOMEM;
}

static bool is_drive_root(const char *text)
{
	return isalpha((unsigned char)text[0]) && text[1] == ':' &&
	       is_separator(text[2]);
}

int wine_path_parse(const char *argument, struct wine_path *path)
{
	memset(path, 0, sizeof(*path));
	if (starts_with(argument, "\\\\?\\") || starts_with(argument, "\\??\\")) {
		const char *nt = argument + 4;

		if (strncasecmp(nt, "unix", 4) == 0 && is_separator(nt[4])) {
			path->kind = WINE_PATH_UNIX;
			path->path = rooted(nt + 4, true);
			return path->path ? 0 : -ENOMEM;
		}
		return is_drive_root(nt) ? parse_dos(nt, path) : 0;
	}
	if (is_drive_root(argument))
		return parse_dos(argument, path);
	if (argument[0] == '/') {
		path->kind = WINE_PATH_UNIX;
		path->path = rooted(argument, false);
		return path->path ? 0 : -ENOMEM;
	}
	/* UNC, devices, "\x" (root of the current drive), "C:x": not started
	 * as given here */
	if (argument[0] == '\0' || argument[0] == '\\' ||
	    (isalpha((unsigned char)argument[0]) && argument[1] == ':'))
		return 0;
	path->kind = WINE_PATH_RELATIVE;
	path->path = forward_slashes(argument);
	return path->path ? 0 : -ENOMEM;
}

void wine_path_free(struct wine_path *path)
{
	free(path->path);
	memset(path, 0, sizeof(*path));
}

/* lead, then path with '/' turned into '\' (a '\' first if path has none). */
static char *backslashed(const char *lead, const char *path)
{
	struct strbuf out;

	strbuf_init(&out);
	strbuf_append_string(&out, lead);
	if (path[0] != '/')
		strbuf_append_char(&out, '\\');
	for (const char *cursor = path; *cursor; cursor++) {
		if (*cursor == '/')
			strbuf_append_char(&out, '\\');
		else
			strbuf_append_char(&out, *cursor);
	}
	if (out.failed) {
		strbuf_free(&out);
		return NULL;
	}
	return out.data;
}

char *wine_dos_path(char drive, const char *path)
{
	char lead[3] = {(char)toupper((unsigned char)drive), ':', '\0'};

	return backslashed(lead, path);
}

/* --- Windows command lines ------------------------------------------------------ */

static void append_windows_argument(struct strbuf *out, const char *argument,
				    size_t length, bool always_quote)
{
	bool quoted = always_quote || length == 0 || memchr(argument, ' ', length) ||
		      memchr(argument, '\t', length);
	bool escaping = quoted || memchr(argument, '"', length);
	size_t backslashes = 0;

	if (quoted)
		strbuf_append_char(out, '"');
	for (size_t i = 0; i < length && escaping; i++) {
		if (argument[i] == '\\') {
			backslashes++;
		} else {
			if (argument[i] == '"') {
				for (size_t extra = 0; extra <= backslashes; extra++)
					strbuf_append_char(out, '\\');
			}
			backslashes = 0;
		}
		strbuf_append_char(out, argument[i]);
	}
	if (!escaping)
		strbuf_append(out, argument, length);
	if (quoted) {
		for (size_t extra = 0; extra < backslashes; extra++)
			strbuf_append_char(out, '\\');
		strbuf_append_char(out, '"');
	}
}

void wine_command_line(struct strbuf *out, const char *first,
		       const char *arguments, size_t length)
{
	struct strbuf raw;
	size_t offset = 0;

	strbuf_init(&raw);
	append_windows_argument(&raw, first, strlen(first), true);
	while (offset < length) {
		const char *end = memchr(arguments + offset, '\0', length - offset);
		size_t size = end ? (size_t)(end - arguments) - offset : length - offset;

		strbuf_append_char(&raw, ' ');
		append_windows_argument(&raw, arguments + offset, size, false);
		offset += size + 1;
	}
	if (raw.failed)
		out->failed = true;
	else
		text_append_escaped(out, strbuf_text(&raw), raw.length);
	strbuf_free(&raw);
}

/* --- environment and maps --------------------------------------------------------- */

const char *wine_environ_value(const char *block, size_t length, const char *name)
{
	size_t name_length = strlen(name);
	size_t offset = 0;

	while (offset < length) {
		const char *entry = block + offset;
		const char *end = memchr(entry, '\0', length - offset);

		if (!end)
			return NULL;
		if ((size_t)(end - entry) > name_length &&
		    memcmp(entry, name, name_length) == 0 && entry[name_length] == '=')
			return entry + name_length + 1;
		offset = (size_t)(end - block) + 1;
	}
	return NULL;
}

static bool ends_with_ignoring_case(const char *text, size_t length,
				    const char *suffix)
{
	size_t suffix_length = strlen(suffix);

	return length >= suffix_length &&
	       strncasecmp(text + length - suffix_length, suffix, suffix_length) == 0;
}

/* ".../wine/x86_64-windows/NAME": a file of Wine's own Windows side. */
static bool is_builtin_path(const char *path, size_t length)
{
	const char *name_start = path + length;
	const char *directory_end, *directory;

	while (name_start > path && name_start[-1] != '/')
		name_start--;
	if (name_start <= path + 1)
		return false;
	directory_end = name_start - 1;
	directory = directory_end;
	while (directory > path && directory[-1] != '/')
		directory--;
	return ends_with_ignoring_case(directory, (size_t)(directory_end - directory),
				       "-windows") &&
	       directory - path >= 6 && memcmp(directory - 6, "/wine/", 6) == 0;
}

struct maps_line {
	uint64_t device, inode;
	const char *path;
	size_t path_length;
};

/* Skip one space-separated field and the spaces after it. */
static const char *skip_field(const char *cursor, const char *end)
{
	while (cursor < end && *cursor != ' ')
		cursor++;
	while (cursor < end && *cursor == ' ')
		cursor++;
	return cursor;
}

/* "start-end perms offset MAJOR:MINOR inode   path": false when no file. */
static bool parse_maps_line(const char *line, const char *end, struct maps_line *out)
{
	static const char deleted[] = " (deleted)";
	unsigned long major, minor;
	unsigned long long inode;
	const char *cursor = skip_field(skip_field(skip_field(line, end), end), end);
	char fields[64];
	size_t size = 0;

	while (cursor + size < end && size + 1 < sizeof(fields) && cursor[size] != '/')
		size++;
	memcpy(fields, cursor, size);
	fields[size] = '\0';
	if (cursor + size >= end || cursor[size] != '/' ||
	    sscanf(fields, "%lx:%lx %llu", &major, &minor, &inode) != 3)
		return false;
	out->device = makedev(major, minor);
	out->inode = inode;
	out->path = cursor + size;
	out->path_length = (size_t)(end - out->path);
	if (out->path_length > sizeof(deleted) - 1 &&
	    memcmp(end - (sizeof(deleted) - 1), deleted, sizeof(deleted) - 1) == 0)
		out->path_length -= sizeof(deleted) - 1;
	return true;
}

/* How well one mapped file matches the query (higher is better). */
static enum wine_mapped judge_mapping(const struct maps_line *line,
				      const struct wine_maps_query *query)
{
	const char *name = line->path + line->path_length;
	size_t name_length;

	if (query->inode && line->device == query->device && line->inode == query->inode)
		return WINE_MAPPED_IMAGE;
	while (name > line->path && name[-1] != '/')
		name--;
	name_length = (size_t)(line->path + line->path_length - name);
	if (query->name && strlen(query->name) == name_length &&
	    strncasecmp(name, query->name, name_length) == 0 &&
	    is_builtin_path(line->path, line->path_length))
		return WINE_MAPPED_BUILTIN;
	if (ends_with_ignoring_case(name, name_length, ".exe"))
		return WINE_MAPPED_OTHER;
	return WINE_MAPPED_NOT_YET;
}

static int rank_of(enum wine_mapped found)
{
	switch (found) {
	case WINE_MAPPED_IMAGE:
		return 3;
	case WINE_MAPPED_BUILTIN:
		return 2;
	case WINE_MAPPED_OTHER:
		return 1;
	default:
		return 0;
	}
}

int wine_maps_find(const char *maps, size_t length,
		   const struct wine_maps_query *query,
		   struct wine_maps_result *result)
{
	const char *cursor = maps, *end = maps + length;
	struct maps_line best = {0};

	memset(result, 0, sizeof(*result));
	result->found = WINE_MAPPED_NOT_YET;
	while (cursor < end && result->found != WINE_MAPPED_IMAGE) {
		const char *line_end = memchr(cursor, '\n', (size_t)(end - cursor));
		struct maps_line line;

		if (!line_end)
			line_end = end;
		if (parse_maps_line(cursor, line_end, &line)) {
			enum wine_mapped found = judge_mapping(&line, query);

			if (rank_of(found) > rank_of(result->found)) {
				result->found = found;
				best = line;
			}
		}
		cursor = line_end + 1;
	}
	if (result->found == WINE_MAPPED_NOT_YET)
		return 0;
	result->device = best.device;
	result->inode = best.inode;
	result->path = strndup(best.path, best.path_length);
	return result->path ? 0 : -ENOMEM;
}

void wine_maps_result_free(struct wine_maps_result *result)
{
	free(result->path);
	memset(result, 0, sizeof(*result));
}

const char *wine_mapped_name(enum wine_mapped found)
{
	switch (found) {
	case WINE_MAPPED_UNCHECKED:
		return "unchecked";
	case WINE_MAPPED_IMAGE:
		return "image";
	case WINE_MAPPED_BUILTIN:
		return "builtin";
	case WINE_MAPPED_OTHER:
		return "other";
	case WINE_MAPPED_NOT_YET:
		return "not-yet";
	case WINE_MAPPED_EXITED:
		return "exited";
	}
	return "unknown";
}

char *wine_read_proc(uint32_t pid, const char *name, size_t max, size_t *length)
{
	char path[64];
	struct strbuf text;
	int result;

	snprintf(path, sizeof(path), "/proc/%u/%s", pid, name);
	strbuf_init(&text);
	result = strbuf_read_file(&text, path, max);
	if (result != 0 && result != -EFBIG) { /* past max: the first max bytes do */
		strbuf_free(&text);
		errno = -result;
		return NULL;
	}
	*length = text.length;
	return text.data;
}

/* --- the drive table ------------------------------------------------------------------ */

/* The canonical root of each drive of a prefix ("" when none). */
struct drive_table {
	char *roots[WINE_DRIVES];
};

static char *join(const char *first, const char *second)
{
	struct strbuf out;

	strbuf_init(&out);
	strbuf_append_string(&out, first);
	strbuf_append_string(&out, second);
	if (out.failed) {
		strbuf_free(&out);
		return NULL;
	}
	return out.data;
}

/* prefix/dosdevices/x: for drive x; without a prefix only z:, Wine's
 * default for "/", is known (NULL for the others). */
static char *drive_link(const char *prefix, char drive)
{
	char tail[] = "/dosdevices/x:";

	if (!prefix[0])
		return drive == 'z' ? strdup("") : NULL;
	tail[sizeof(tail) - 3] = drive;
	return join(prefix, tail);
}

static void drives_free(struct drive_table *drives)
{
	for (int i = 0; i < WINE_DRIVES; i++)
		free(drives->roots[i]);
}

/* The drives of a prefix; Wine's defaults (c: drive_c, z: /) while the
 * prefix has no dosdevices yet (its first start creates them). */
static void drives_load(const char *prefix, struct drive_table *drives)
{
	char *directory = join(prefix, "/dosdevices");
	struct stat status;

	memset(drives, 0, sizeof(*drives));
	if (!prefix[0]) { /* unknown prefix: Z: is "/" */
		free(directory);
		drives->roots['z' - 'a'] = strdup("/");
		return;
	}
	if (directory && stat(directory, &status) != 0) {
		char *drive_c = join(prefix, "/drive_c");

		drives->roots['c' - 'a'] = drive_c ? realpath(drive_c, NULL) : NULL;
		if (!drives->roots['c' - 'a'])
			drives->roots['c' - 'a'] = drive_c;
		else
			free(drive_c);
		drives->roots['z' - 'a'] = strdup("/");
		free(directory);
		return;
	}
	free(directory);
	for (int i = 0; i < WINE_DRIVES; i++) {
		char *link = drive_link(prefix, (char)('a' + i));

		drives->roots[i] = link ? realpath(link, NULL) : NULL;
		free(link);
	}
}

/* Is root an ancestor directory of path (both canonical)? */
static size_t root_match(const char *root, const char *path)
{
	size_t length = strlen(root);

	if (strcmp(root, "/") == 0)
		return 1;
	if (strncmp(root, path, length) == 0 && path[length] == '/')
		return length + 1;
	return 0;
}

/* The DOS path of a canonical Unix path: the deepest drive root above it;
 * \\?\unix\... when no drive holds it, as Wine writes it. */
static char *dos_path_of(const struct drive_table *drives, const char *path)
{
	size_t best_length = 0;
	int best = -1;

	for (int i = 0; i < WINE_DRIVES; i++) {
		size_t length = drives->roots[i] ? root_match(drives->roots[i], path) : 0;

		if (length > best_length) {
			best_length = length;
			best = i;
		}
	}
	if (best < 0)
		return backslashed("\\\\?\\unix", path);
	return wine_dos_path((char)('a' + best), path + best_length - 1);
}

/* path with its directory made canonical (the file itself may be a link). */
static char *canonical_directory(const char *path)
{
	const char *name = text_basename(path);
	char *directory = strndup(path, (size_t)(name - path));
	char *real = directory ? realpath(directory[0] ? directory : ".", NULL) : NULL;
	char *result = NULL;

	if (real) {
		char *with_slash = strcmp(real, "/") == 0 ? strdup("/") : join(real, "/");

		result = with_slash ? join(with_slash, name) : NULL;
		free(with_slash);
	}
	free(directory);
	free(real);
	return result;
}

/* --- finding the file ------------------------------------------------------------------ */

/* The entry of directory named like name without case (ASCII), or NULL. */
static char *find_without_case(const char *directory, const char *name,
			       struct wine_budget *budget)
{
	DIR *listing = opendir(directory[0] ? directory : "/");
	struct dirent *entry;
	char *found = NULL;

	while (listing && budget_spend(budget)) {
		entry = readdir(listing);
		if (!entry)
			break;
		if (strcasecmp(entry->d_name, name) == 0) {
			found = strdup(entry->d_name);
			break;
		}
	}
	if (listing)
		closedir(listing);
	return found;
}

/* The existing file for an absolute path, components matched without case
 * where the exact name is missing (as Wine looks up DOS paths). */
static char *lookup_path(const char *path, struct wine_budget *budget)
{
	struct strbuf found;
	const char *cursor = path;
	int components = 0;

	if (access(path, F_OK) == 0)
		return strdup(path);
	strbuf_init(&found);
	while (*cursor && components++ < WINE_LOOKUP_COMPONENTS_MAX) {
		size_t length;
		char *name, *match;

		while (*cursor == '/')
			cursor++;
		length = strcspn(cursor, "/");
		if (length == 0)
			break;
		name = strndup(cursor, length);
		strbuf_append_char(&found, '/');
		strbuf_append(&found, cursor, length);
		cursor += length;
		if (!name || found.failed || access(found.data, F_OK) == 0) {
			free(name);
			continue;
		}
		found.length -= length;
		found.data[found.length - 1] = '\0';
		match = find_without_case(found.data, name, budget);
		found.data[found.length - 1] = '/';
		found.data[found.length] = '\0';
		strbuf_append_string(&found, match ? match : name);
		free(name);
		if (!match)
			break;
		free(match);
	}
	if (found.failed || *cursor || access(strbuf_text(&found), F_OK) != 0) {
		strbuf_free(&found);
		return NULL;
	}
	return found.data;
}

/* Open a program file a user named: never a FIFO or a device, never
 * through a link as the last component (base/safe_open.h); -1 with errno. */
static int open_regular(const char *path, struct stat *status)
{
	int fd = safe_open_file(path, SAFE_OPEN_NO_FINAL_LINK, status);

	if (fd < 0) {
		errno = -fd;
		return -1;
	}
	return fd;
}

static bool starts_with_mz(int fd)
{
	char magic[2];

	return pread(fd, magic, sizeof(magic), 0) == 2 && magic[0] == 'M' &&
	       magic[1] == 'Z';
}

/* --- resolution ------------------------------------------------------------------------ */

/* The account's home directory through NSS, or NULL. */
static char *account_home(uint32_t uid)
{
	struct passwd entry, *result = NULL;
	char *buffer = malloc(WINE_PASSWD_BUFFER);
	char *home = NULL;

	if (buffer && getpwuid_r(uid, &entry, buffer, WINE_PASSWD_BUFFER, &result) == 0 &&
	    result && result->pw_dir && result->pw_dir[0])
		home = strdup(result->pw_dir);
	free(buffer);
	return home;
}

/*
 * WINEPREFIX from the environment, else the prefix an earlier step or the
 * Windows parent found, else $HOME/.wine (HOME from the environment, else
 * the account's).  Without the environment (the process is gone) only a
 * known prefix counts: "" rather than a guess.
 */
/* --- the environment ------------------------------------------------------------------ */

/* The names the resolution needs, in the order of enum environ_name. */
static const char *const environ_names[WINE_ENVIRON_NAMES] = {"WINEPREFIX", "HOME",
							      "WINELOADERNOEXEC"};

void wine_environ_scan_init(struct wine_environ_scan *scan)
{
	memset(scan, 0, sizeof(*scan));
}

/* One whole NAME=VALUE entry (entry_length bytes, or cut when too long). */
static void take_entry(struct wine_environ_scan *scan)
{
	for (int i = 0; i < WINE_ENVIRON_NAMES; i++) {
		size_t name_length = strlen(environ_names[i]);

		if (scan->entry_length <= name_length ||
		    memcmp(scan->entry, environ_names[i], name_length) != 0 ||
		    scan->entry[name_length] != '=')
			continue;
		if (scan->found[i] || scan->too_long[i]) /* the first counts */
			return;
		size_t value_length = scan->entry_length - name_length - 1;

		if (scan->entry_cut || value_length > WINE_ENVIRON_VALUE_MAX) {
			scan->too_long[i] = true; /* longer than any path: not one */
			return;
		}
		memcpy(scan->values[i], scan->entry + name_length + 1, value_length);
		scan->values[i][value_length] = '\0';
		scan->found[i] = true;
		return;
	}
}

void wine_environ_scan_feed(struct wine_environ_scan *scan, const char *data, size_t length)
{
	for (size_t i = 0; i < length; i++) {
		if (data[i] == '\0') {
			take_entry(scan);
			scan->entry_length = 0;
			scan->entry_cut = false;
		} else if (scan->entry_length < sizeof(scan->entry)) {
			scan->entry[scan->entry_length++] = data[i];
		} else {
			scan->entry_cut = true;
		}
	}
	scan->total += length;
}

const char *wine_environ_scan_value(const struct wine_environ_scan *scan,
				    enum wine_environ_name name)
{
	return scan->found[name] ? scan->values[name] : NULL;
}

/* Is pid still running (not gone, not a zombie whose memory is freed)? */
static bool process_alive(uint32_t pid)
{
	char path[64], text[512];
	const char *state;
	ssize_t length;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	length = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (length <= 0)
		return false;
	text[length] = '\0';
	state = strrchr(text, ')'); /* "pid (comm) S ...": comm may hold ')' */
	return state && state[1] == ' ' && state[2] != 'Z' && state[2] != 'X';
}

/*
 * The environment of pid, whatever its size: read in chunks, only the
 * names Wine's start needs kept (the attacker may put 256 KiB, or
 * megabytes, before WINEPREFIX).  Returns 0, or -errno when it could not
 * be read at all; reading stops at WINE_ENVIRON_READ_MAX (scan->cut).
 */
static int scan_environment(uint32_t pid, struct wine_environ_scan *scan)
{
	char path[64];
	char *chunk = malloc(WINE_ENVIRON_CHUNK);
	int fd, result = 0;

	wine_environ_scan_init(scan);
	if (!chunk)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/proc/%u/environ", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(chunk);
		return -errno;
	}
	for (;;) {
		ssize_t got = read(fd, chunk, WINE_ENVIRON_CHUNK);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			result = -errno;
			break;
		}
		if (got == 0)
			break;
		wine_environ_scan_feed(scan, chunk, (size_t)got);
		if (scan->total >= WINE_ENVIRON_READ_MAX) {
			scan->cut = true;
			break;
		}
	}
	close(fd);
	free(chunk);
	/* a process that exits while it is read gives a short read, not an
	 * error: what was read is then not the whole environment */
	if (result == 0 && !scan->cut && !process_alive(pid))
		return -ESRCH;
	/* an entry not ended by a NUL (the read stopped): taken as it is */
	if (scan->entry_length)
		take_entry(scan);
	return result;
}

/* What the record says when the environment did not tell everything
 * ("" when it did). */
static char *environment_error(int result, const struct wine_environ_scan *scan)
{
	char text[160];

	if (result < 0)
		snprintf(text, sizeof(text), "cannot read the environment: %s", strerror(-result));
	else if (scan->too_long[WINE_ENVIRON_PREFIX])
		snprintf(text, sizeof(text), "WINEPREFIX longer than %d bytes: not a path",
			 WINE_ENVIRON_VALUE_MAX);
	else if (scan->cut)
		snprintf(text, sizeof(text), "environment larger than %zu MiB: the rest was not read",
			 WINE_ENVIRON_READ_MAX >> 20);
	else
		text[0] = '\0';
	return strdup(text);
}

/*
 * WINEPREFIX from the environment, else the prefix an earlier step or the
 * Windows parent found, else $HOME/.wine (HOME from the environment, else
 * the account's).  Without the environment (the process is gone) only a
 * known prefix counts: "" rather than a guess.
 */
static char *find_prefix(const struct wine_environ_scan *environment,
			 const struct wine_context *context)
{
	const char *value = environment ? wine_environ_scan_value(environment,
								   WINE_ENVIRON_PREFIX)
					: NULL;
	char *home, *prefix;

	if (value && value[0])
		return pathname_absolute(context->cwd, value);
	if (context->known_prefix && context->known_prefix[0])
		return strdup(context->known_prefix);
	if (!environment)
		return strdup("");
	value = wine_environ_scan_value(environment, WINE_ENVIRON_HOME);
	home = value && value[0] ? strdup(value) : account_home(context->uid);
	if (!home)
		return strdup("");
	prefix = join(home, "/.wine");
	free(home);
	return prefix;
}

struct candidate {
	char *linux_path; /* where to look on this host */
	char *folder_path; /* the DOS path */
};

static void candidate_free(struct candidate *candidate)
{
	free(candidate->linux_path);
	free(candidate->folder_path);
	memset(candidate, 0, sizeof(*candidate));
}

/* Linux and DOS paths of a program argument; false when it names no file
 * Wine could start as given. */
static bool candidate_of(const char *argument, const char *prefix, const char *cwd,
			 struct candidate *candidate)
{
	struct wine_path path;
	char *link, *absolute = NULL;
	struct drive_table drives;

	memset(candidate, 0, sizeof(*candidate));
	if (wine_path_parse(argument, &path) != 0 || path.kind == WINE_PATH_INVALID) {
		wine_path_free(&path);
		return false;
	}
	if (path.kind == WINE_PATH_DOS) {
		link = drive_link(prefix, path.drive);
		/* a drive of an unknown prefix: shown, not looked for */
		candidate->linux_path = link ? join(link, path.path) : strdup("");
		candidate->folder_path = wine_dos_path(path.drive, path.path);
		free(link);
	} else {
		absolute = path.kind == WINE_PATH_UNIX ? strdup(path.path)
						       : pathname_absolute(cwd, path.path);
		candidate->linux_path = absolute;
	}
	wine_path_free(&path);
	if (absolute) {
		char *canonical = canonical_directory(absolute);

		drives_load(prefix, &drives);
		candidate->folder_path = dos_path_of(&drives, canonical ? canonical : absolute);
		drives_free(&drives);
		free(canonical);
	}
	if (!candidate->linux_path || !candidate->folder_path) {
		candidate_free(candidate);
		return false;
	}
	return true;
}

/* Open the candidate's file; on success its linux_path becomes the file
 * found (case-insensitively), made canonical. */
static int open_candidate(struct candidate *candidate, struct stat *status,
			  struct wine_budget *budget, int *open_errno)
{
	char *found = lookup_path(candidate->linux_path, budget);
	char *canonical;
	int fd;

	if (!found) {
		*open_errno = ENOENT;
		return -1;
	}
	fd = open_regular(found, status);
	if (fd < 0) {
		*open_errno = errno;
		free(found);
		return -1;
	}
	canonical = realpath(found, NULL);
	free(candidate->linux_path);
	candidate->linux_path = canonical ? canonical : found;
	if (canonical)
		free(found);
	return fd;
}

/* A Windows program's bare name (CreateProcess("notepad")): system32, then
 * the Windows directory, ".exe" added when the name has no extension. */
static int search_windows_directories(const char *name, const char *prefix,
				      struct candidate *candidate, struct stat *status,
				      struct wine_budget *budget, int *open_errno)
{
	static const char *const directories[] = {"C:\\windows\\system32\\",
						  "C:\\windows\\"};
	const char *extension = strchr(name, '.') ? "" : ".exe";

	for (size_t i = 0; i < sizeof(directories) / sizeof(directories[0]); i++) {
		char *directory_name = join(directories[i], name);
		char *full = directory_name ? join(directory_name, extension) : NULL;
		int fd = -1;

		if (full && candidate_of(full, prefix, "/", candidate)) {
			fd = open_candidate(candidate, status, budget, open_errno);
			if (fd < 0)
				candidate_free(candidate);
		}
		free(directory_name);
		free(full);
		if (fd >= 0)
			return fd;
	}
	return -1;
}

/* Find and open the program's file; fills folder_path and linux_path.
 * Returns the fd, -1 when the file was not found, -ENOMEM. */
static int locate(struct wine_program *program, const struct wine_step *step,
		  const struct wine_context *context, int *open_errno)
{
	struct candidate candidate, found;
	struct wine_budget budget;
	int fd = -1;

	*open_errno = ENOENT;
	budget_start(&budget);
	if (candidate_of(step->program, program->prefix, context->cwd, &candidate))
		fd = open_candidate(&candidate, &program->file_status, &budget, open_errno);
	if (fd < 0 && program->child && !strpbrk(step->program, "\\/:")) {
		fd = search_windows_directories(step->program, program->prefix, &found,
						&program->file_status, &budget, open_errno);
		if (fd >= 0) {
			candidate_free(&candidate);
			candidate = found;
		}
	}
	if (fd < 0 && !program->child && program->prefix[0]) {
		/* not a file Wine can start as given: it runs start.exe /exec */
		candidate_free(&candidate);
		program->start_exe = true;
		if (candidate_of("C:\\windows\\system32\\start.exe", program->prefix,
				 "/", &candidate))
			fd = open_candidate(&candidate, &program->file_status, &budget,
					    open_errno);
	}
	program->budget_exceeded = budget.exceeded;
	if (!candidate.folder_path) /* nothing to show but the argument */
		candidate.folder_path = strdup(step->program);
	free(fd < 0 ? candidate.linux_path : NULL);
	if (fd < 0) /* not found: no Linux file to name */
		candidate.linux_path = strdup("");
	program->folder_path = candidate.folder_path;
	program->linux_path = candidate.linux_path;
	program->has_file = fd >= 0;
	if (!program->folder_path || !program->linux_path) {
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	return fd;
}

/* The program's command line: what GetCommandLineW() returns. */
static char *command_line_of(const struct wine_step *step,
			     const struct wine_program *program)
{
	struct strbuf line, arguments;

	strbuf_init(&line);
	strbuf_init(&arguments);
	if (program->start_exe) {
		/* start.exe /exec PROGRAM ARGUMENTS... */
		strbuf_append(&arguments, "/exec", 6);
		strbuf_append(&arguments, step->program, strlen(step->program) + 1);
	}
	strbuf_append(&arguments, step->arguments, step->arguments_length);
	/* Wine puts the full path first for a program it starts itself; a
	 * Windows parent's command line keeps the parent's first word */
	wine_command_line(&line, program->child ? step->program : program->folder_path,
			  strbuf_text(&arguments), arguments.length);
	strbuf_free(&arguments);
	if (line.failed) {
		strbuf_free(&line);
		return NULL;
	}
	return line.data;
}

static struct wine_program *program_create(const struct wine_step *step,
					   const struct wine_context *context,
					   char *prefix)
{
	struct wine_program *program = calloc(1, sizeof(*program));

	if (!program || !prefix) {
		free(program);
		free(prefix);
		return NULL;
	}
	program->prefix = prefix;
	program->loader = strdup(step->loader);
	program->requested = strdup(step->program);
	program->child = context->child;
	if (!program->loader || !program->requested) {
		wine_program_free(program);
		return NULL;
	}
	return program;
}

int wine_resolve(const struct wine_step *step, const struct wine_context *context,
		 struct wine_program **out, int *fd, int *open_errno,
		 bool *final_step)
{
	struct wine_environ_scan *environment = malloc(sizeof(*environment));
	struct wine_program *program;
	int read_result;

	*out = NULL;
	*fd = -1;
	*open_errno = 0;
	if (!environment)
		return -ENOMEM;
	read_result = scan_environment(context->pid, environment);
	if (read_result == -ENOMEM) {
		free(environment);
		return -ENOMEM;
	}
	/* The loader re-execs itself (or its preloader) unless told not to. */
	*final_step = step->kind == WINE_STEP_PRELOADER ||
		      (step->kind == WINE_STEP_LOADER &&
		       (read_result < 0 ||
			wine_environ_scan_value(environment, WINE_ENVIRON_LOADER_NOEXEC)));
	if (!step->program) {
		free(environment);
		return 0;
	}
	program = program_create(step, context,
				 find_prefix(read_result < 0 ? NULL : environment, context));
	if (program)
		program->environment_error = environment_error(read_result, environment);
	free(environment);
	if (program && !program->environment_error) {
		wine_program_free(program);
		program = NULL;
	}
	if (!program)
		return -ENOMEM;
	program->final_step = *final_step;
	*fd = locate(program, step, context, open_errno);
	if (*fd == -ENOMEM) {
		*fd = -1;
		wine_program_free(program);
		return -ENOMEM;
	}
	program->binfmt = (step->program_is_filename || context->binfmt_candidate) && *fd >= 0 &&
			  starts_with_mz(*fd);
	program->command_line = command_line_of(step, program);
	if (!program->command_line) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		wine_program_free(program);
		return -ENOMEM;
	}
	*out = program;
	return 0;
}

/* The DOS path under which Windows programs see a builtin file. */
static char *builtin_dos_path(const char *path)
{
	const char *name = text_basename(path);
	bool wow64 = strstr(path, "/i386-windows/") != NULL;
	char *directory = wine_dos_path('c', wow64 ? "/windows/syswow64/" : "/windows/system32/");
	char *dos = directory ? join(directory, name) : NULL;

	free(directory);
	return dos;
}

static char *copy_or_empty(const char *text)
{
	return strdup(text ? text : "");
}

int wine_program_from_mapped(const struct wine_program *program,
			     const struct wine_maps_result *mapped,
			     struct wine_program **out, int *fd)
{
	struct wine_program *copy = calloc(1, sizeof(*copy));
	struct drive_table drives;
	struct stat status;

	*out = NULL;
	/* the kernel's path of the mapped file: no link on the way, unless
	 * someone changed it since; then device and inode tell */
	*fd = safe_open_file(mapped->path, SAFE_OPEN_NO_LINKS, &status);
	if (*fd < 0 || status.st_dev != mapped->device || status.st_ino != mapped->inode) {
		free(copy);
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return -ENOENT;
	}
	if (copy) {
		bool builtin = is_builtin_path(mapped->path, strlen(mapped->path));

		*copy = *program;
		copy->file_status = status;
		copy->has_file = true;
		copy->budget_exceeded = false;
		copy->environment_error = copy_or_empty(program->environment_error);
		if (builtin && program->linux_path[0]) {
			/* Wine's builtin runs for the prefix's placeholder: the
			 * program keeps its name and path, the identity is the
			 * builtin's (what runs; a true placeholder is a copy) */
			copy->linux_path = strdup(program->linux_path);
			copy->folder_path = strdup(program->folder_path);
		} else if (builtin) {
			copy->linux_path = strdup(mapped->path);
			copy->folder_path = builtin_dos_path(mapped->path);
		} else {
			copy->linux_path = strdup(mapped->path);
			drives_load(program->prefix, &drives);
			copy->folder_path = dos_path_of(&drives, mapped->path);
			drives_free(&drives);
		}
		copy->command_line = copy_or_empty(program->command_line);
		copy->loader = copy_or_empty(program->loader);
		copy->prefix = copy_or_empty(program->prefix);
		copy->requested = copy_or_empty(program->requested);
		copy->start_exe = builtin && program->start_exe;
	}
	if (!copy || !copy->linux_path || !copy->folder_path || !copy->command_line ||
	    !copy->loader || !copy->prefix || !copy->requested || !copy->environment_error) {
		wine_program_free(copy);
		close(*fd);
		*fd = -1;
		return -ENOMEM;
	}
	*out = copy;
	return 0;
}

struct wine_program *wine_program_copy(const struct wine_program *program)
{
	struct wine_program *copy = calloc(1, sizeof(*copy));

	if (!copy)
		return NULL;
	*copy = *program;
	copy->folder_path = copy_or_empty(program->folder_path);
	copy->command_line = copy_or_empty(program->command_line);
	copy->linux_path = copy_or_empty(program->linux_path);
	copy->loader = copy_or_empty(program->loader);
	copy->prefix = copy_or_empty(program->prefix);
	copy->requested = copy_or_empty(program->requested);
	copy->environment_error = copy_or_empty(program->environment_error);
	if (!copy->folder_path || !copy->command_line || !copy->linux_path || !copy->loader ||
	    !copy->prefix || !copy->requested || !copy->environment_error) {
		wine_program_free(copy);
		return NULL;
	}
	return copy;
}

void wine_program_free(struct wine_program *program)
{
	if (!program)
		return;
	free(program->folder_path);
	free(program->command_line);
	free(program->linux_path);
	free(program->loader);
	free(program->prefix);
	free(program->requested);
	free(program->environment_error);
	free(program);
}
