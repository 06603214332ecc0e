/*
 * test_agent_wine.c - Windows programs under Wine (agent/wine/wine.c and the
 * assembler's handling of Wine's loader chain).
 *
 * Three layers: the pure parsers (which exec is what, program paths, the
 * Windows command line, environment blocks, maps text); resolution against
 * a real prefix made here (dosdevices links, drive_c) with a real process
 * whose environment names it; and the assembler fed hand-made records of a
 * loader chain, a Windows child's double fork and a chain cut short.
 */
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include "agent_harness.h"
#include "wine/wine.h"

/* --- which exec is what ------------------------------------------------------ */

/* An argv block as the probe captures it, and as exec_facts.c keeps it:
 * NUL-separated words, one NUL more past its length. */
struct argv_block {
	char bytes[1024];
	size_t length;
};

static const char *argv_of(struct argv_block *block, const char *const *words)
{
	block->length = 0;
	for (; *words; words++) {
		size_t size = strlen(*words) + 1;

		assert_true(block->length + size < sizeof(block->bytes));
		memcpy(block->bytes + block->length, *words, size);
		block->length += size;
	}
	block->bytes[block->length] = '\0';
	return block->bytes;
}

#define WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})

static bool classify(const char *exe, const char *filename, const char *interp,
		     struct argv_block *block, const char *const *words,
		     struct wine_step *step)
{
	argv_of(block, words);
	return wine_classify(exe, filename, interp, block->bytes, block->length, step);
}

static void test_other_execs_are_not_wine(void **state)
{
	struct argv_block argv;
	struct wine_step step;

	(void)state;
	assert_false(classify("/usr/bin/true", "/usr/bin/true", "/usr/bin/true", &argv,
			      WORDS("true"), &step));
	assert_int_equal(step.kind, WINE_STEP_NONE);
	/* a script, but not Wine's; winetricks is not a loader */
	assert_false(classify("/usr/bin/dash", "/tmp/x.sh", "/bin/sh", &argv,
			      WORDS("/bin/sh", "/tmp/x.sh"), &step));
	assert_false(classify("/usr/bin/dash", "/usr/bin/winetricks", "/bin/sh", &argv,
			      WORDS("/bin/sh", "/usr/bin/winetricks", "x"), &step));
	assert_false(classify("/usr/bin/winegcc", "/usr/bin/winegcc", "", &argv,
			      WORDS("winegcc", "a.c"), &step));
	/* not a script (interp is the filename): argv is not looked at */
	assert_false(classify("/usr/bin/python3", "/usr/bin/python3", "/usr/bin/python3",
			      &argv, WORDS("python3", "/usr/bin/wine", "x.exe"), &step));
}

static void test_wine_script_step(void **state)
{
	struct argv_block argv;
	struct wine_step step;

	(void)state;
	assert_true(classify("/usr/bin/dash", "/usr/bin/wine", "/bin/sh", &argv,
			     WORDS("/bin/sh", "-e", "/usr/bin/wine", "rport.exe", "5000",
				   "--client"), &step));
	assert_int_equal(step.kind, WINE_STEP_SCRIPT);
	assert_string_equal(step.loader, "/usr/bin/wine");
	assert_string_equal(step.program, "rport.exe");
	assert_int_equal(step.arguments_length, 14);
	assert_memory_equal(step.arguments, "5000\0--client\0", 14);
	assert_false(step.program_is_filename);
	/* #!/usr/bin/env sh and Debian's alternative name */
	assert_true(classify("/usr/bin/env", "/usr/bin/wine-stable", "/usr/bin/env", &argv,
			     WORDS("/usr/bin/env", "sh", "/usr/bin/wine-stable", "x.exe"),
			     &step));
	assert_string_equal(step.program, "x.exe");
	/* Debian's wineapploader names the program itself: no program here */
	assert_true(classify("/usr/bin/dash", "/usr/bin/wineboot", "/bin/sh", &argv,
			     WORDS("/bin/sh", "-e", "/usr/bin/wineboot", "--init"), &step));
	assert_int_equal(step.kind, WINE_STEP_SCRIPT);
	assert_null(step.program);
}

static void test_binfmt_misc_step(void **state)
{
	struct argv_block argv;
	struct wine_step step;

	(void)state;
	/* the kernel put the interpreter and the file before the arguments */
	assert_true(classify("/usr/bin/dash", "./x.exe", "/bin/sh", &argv,
			     WORDS("/bin/sh", "-e", "/usr/bin/wine", "./x.exe", "a b"), &step));
	assert_int_equal(step.kind, WINE_STEP_SCRIPT);
	assert_string_equal(step.program, "./x.exe");
	assert_true(step.program_is_filename);
	/* a binfmt_misc entry naming the loader itself */
	assert_true(classify("/usr/lib/wine/wine64", "/mnt/payload", "/usr/lib/wine/wine64",
			     &argv, WORDS("/usr/lib/wine/wine64", "/mnt/payload"), &step));
	assert_int_equal(step.kind, WINE_STEP_LOADER);
	assert_true(step.program_is_filename);
}

static void test_loader_and_preloader_steps(void **state)
{
	static const char loader[] = "/usr/lib/wine/wine64";
	struct argv_block argv;
	struct wine_step step;

	(void)state;
	assert_true(classify(loader, loader, loader, &argv,
			     WORDS(loader, "Z:\\tmp\\my rport.exe", "5000"), &step));
	assert_int_equal(step.kind, WINE_STEP_LOADER);
	assert_string_equal(step.loader, loader);
	assert_string_equal(step.program, "Z:\\tmp\\my rport.exe");
	assert_memory_equal(step.arguments, "5000\0", 5);
	assert_true(classify("/usr/lib/wine/wine64-preloader", "/usr/lib/wine/wine64-preloader",
			     "", &argv, WORDS("/usr/lib/wine/wine64-preloader", loader, "x.exe",
					      "-v"), &step));
	assert_int_equal(step.kind, WINE_STEP_PRELOADER);
	assert_string_equal(step.program, "x.exe");
	assert_true(classify("/opt/wine/bin/wine-preloader", "/opt/wine/bin/wine-preloader",
			     "", &argv, WORDS("wine-preloader", "y.exe"), &step));
	assert_string_equal(step.program, "y.exe");
	/* loader options and a missing program: a step without a program */
	assert_true(classify(loader, loader, "", &argv, WORDS("wine64", "--version"), &step));
	assert_null(step.program);
	assert_true(classify(loader, loader, "", &argv, WORDS("wine64"), &step));
	assert_null(step.program);
	/* argv cut by the capture limit: the last argument has no NUL */
	argv_of(&argv, WORDS("wine64", "x.exe", "abc"));
	argv.length--;
	assert_true(wine_classify(loader, loader, "", argv.bytes, argv.length, &step));
	assert_string_equal(step.program, "x.exe");
	assert_int_equal(step.arguments_length, 3);
}

/* --- program paths ------------------------------------------------------------ */

static void expect_path(const char *argument, enum wine_path_kind kind, char drive,
			const char *normalised)
{
	struct wine_path path;

	assert_int_equal(wine_path_parse(argument, &path), 0);
	assert_int_equal(path.kind, kind);
	if (kind == WINE_PATH_DOS)
		assert_int_equal(path.drive, drive);
	if (normalised)
		assert_string_equal(path.path, normalised);
	else
		assert_null(path.path);
	wine_path_free(&path);
}

static void test_program_paths(void **state)
{
	char *dos;

	(void)state;
	expect_path("C:\\Program Files\\rport\\rport.exe", WINE_PATH_DOS, 'c',
		    "/Program Files/rport/rport.exe");
	expect_path("z:/tmp/../tmp/./x.exe", WINE_PATH_DOS, 'z', "/tmp/x.exe");
	expect_path("C:\\windows\\..\\..\\..\\x.exe", WINE_PATH_DOS, 'c', "/x.exe");
	expect_path("\\\\?\\C:\\x.exe", WINE_PATH_DOS, 'c', "/x.exe");
	expect_path("\\??\\D:\\a\\\\b.exe", WINE_PATH_DOS, 'd', "/a/b.exe");
	expect_path("\\\\?\\unix\\tmp\\x.exe", WINE_PATH_UNIX, 0, "/tmp/x.exe");
	expect_path("/tmp//sp ace/./x.exe", WINE_PATH_UNIX, 0, "/tmp/sp ace/x.exe");
	expect_path("wx\\winparent.exe", WINE_PATH_RELATIVE, 0, "wx/winparent.exe");
	expect_path("./x.exe", WINE_PATH_RELATIVE, 0, "./x.exe");
	expect_path("\\\\server\\share\\x.exe", WINE_PATH_INVALID, 0, NULL);
	expect_path("\\\\?\\UNC\\server\\x.exe", WINE_PATH_INVALID, 0, NULL);
	expect_path("", WINE_PATH_INVALID, 0, NULL);
	expect_path("C:x.exe", WINE_PATH_INVALID, 0, NULL);
	expect_path("\\x.exe", WINE_PATH_INVALID, 0, NULL);
	dos = wine_dos_path('c', "/a/b c.exe");
	assert_string_equal(dos, "C:\\a\\b c.exe");
	free(dos);
	dos = wine_dos_path('z', "/");
	assert_string_equal(dos, "Z:\\");
	free(dos);
	assert_string_equal(wine_file_name("C:\\a\\my rport.exe"), "my rport.exe");
	assert_string_equal(wine_file_name("/a/b"), "b");
	assert_string_equal(wine_file_name("x.exe"), "x.exe");
}

/* --- Windows command lines ------------------------------------------------------- */

static void expect_command_line(const char *first, const char *arguments,
				size_t length, const char *expected)
{
	struct strbuf line;

	strbuf_init(&line);
	wine_command_line(&line, first, arguments, length);
	assert_false(line.failed);
	assert_string_equal(strbuf_text(&line), expected);
	strbuf_free(&line);
}

static void test_windows_command_line(void **state)
{
	/* what Wine 8's GetCommandLineW() showed for the same argv */
	static const char arguments[] = "cmdline\0a b\0c\"d\0e\\\0\0f\\\\\"g\0";
	static const char quoted_ends[] = "a b\\\0tab\there\0";

	(void)state;
	expect_command_line("Z:\\tmp\\sp ace\\my wp.exe", arguments, sizeof(arguments) - 1,
			    "\"Z:\\tmp\\sp ace\\my wp.exe\" cmdline \"a b\" c\\\"d e\\ \"\" "
			    "f\\\\\\\\\\\"g");
	/* the first argument is always quoted; inside quotes a trailing
	 * backslash is doubled, a tab needs quotes */
	expect_command_line("x.exe", quoted_ends, sizeof(quoted_ends) - 1,
			    "\"x.exe\" \"a b\\\\\" \"tab\there\"");
	expect_command_line("C:\\x\\", "", 0, "\"C:\\x\\\\\"");
	/* bytes that are not UTF-8 are written \xHH, as in every column */
	expect_command_line("x.exe", "\xff\0", 2, "\"x.exe\" \\xff");
	/* the last argument may lack its NUL (argv cut by the capture) */
	expect_command_line("x.exe", "a\0bc", 4, "\"x.exe\" a bc");
}

/* --- environment and maps --------------------------------------------------------- */

static void test_environment_values(void **state)
{
	static const char block[] = "A=1\0WINEPREFIXX=no\0WINEPREFIX=/p x\0HOME=\0";

	(void)state;
	assert_string_equal(wine_environ_value(block, sizeof(block) - 1, "WINEPREFIX"), "/p x");
	assert_string_equal(wine_environ_value(block, sizeof(block) - 1, "A"), "1");
	assert_string_equal(wine_environ_value(block, sizeof(block) - 1, "HOME"), "");
	assert_null(wine_environ_value(block, sizeof(block) - 1, "PATH"));
	assert_null(wine_environ_value(block, 0, "A"));
	/* an entry cut without its NUL is not read */
	assert_null(wine_environ_value("A=1\0B=2", 7, "B"));
}

static const char maps_text[] =
	"00400000-00401000 r--p 00000000 00:00 0 \n"
	"7f0000000000-7f0000001000 rw-p 00000000 00:00 0                          [heap]\n"
	"garbage without fields\n"
	"140000000-140001000 r--p 00000000 fe:00 10953007                   /tmp/sp ace/my wp.exe\n"
	"7f1000000000-7f1000001000 r--p 00000000 fe:00 14885279 "
	"/usr/lib/x86_64-linux-gnu/wine/x86_64-windows/ntdll.dll\n"
	"7f2000000000-7f2000001000 r--p 00000000 fe:00 14885733 "
	"/usr/lib/x86_64-linux-gnu/wine/x86_64-windows/services.exe\n"
	"7f3000000000-7f3000001000 r--p 00000000 103:4 77 /mnt/x/gone.exe (deleted)\n";

static void expect_mapped(const char *maps, uint64_t device, uint64_t inode,
			  const char *name, enum wine_mapped found, const char *path)
{
	struct wine_maps_query query = {device, inode, name};
	struct wine_maps_result result;

	assert_int_equal(wine_maps_find(maps, strlen(maps), &query, &result), 0);
	assert_int_equal(result.found, found);
	if (path)
		assert_string_equal(result.path, path);
	else
		assert_null(result.path);
	wine_maps_result_free(&result);
}

/* The streamed scan: any chunking, megabytes before the names it wants,
 * the first of a name, a value too long to be a path (issue 9). */
static void test_environment_scan(void **state)
{
	struct wine_environ_scan *scan = malloc(sizeof(*scan));
	struct strbuf block;

	(void)state;
	assert_non_null(scan);
	strbuf_init(&block);
	for (int i = 0; i < 300; i++)
		strbuf_appendf(&block, "PAD%d=%01000d%c", i, 0, '\0');
	static const char tail[] = "HOME=/h\0WINEPREFIXX=no\0WINEPREFIX=/p x\0WINEPREFIX=/late\0";
	static const char noexec[] = "\0WINELOADERNOEXEC=1\0";

	strbuf_append(&block, tail, sizeof(tail) - 1);
	for (size_t chunk = 1; chunk <= 65536; chunk *= 16) {
		wine_environ_scan_init(scan);
		for (size_t offset = 0; offset < block.length; offset += chunk)
			wine_environ_scan_feed(scan, block.data + offset,
					       block.length - offset < chunk ? block.length - offset
									     : chunk);
		assert_string_equal(wine_environ_scan_value(scan, WINE_ENVIRON_PREFIX), "/p x");
		assert_string_equal(wine_environ_scan_value(scan, WINE_ENVIRON_HOME), "/h");
		assert_null(wine_environ_scan_value(scan, WINE_ENVIRON_LOADER_NOEXEC));
		assert_int_equal(scan->total, block.length);
	}
	strbuf_clear(&block);
	strbuf_append(&block, "WINEPREFIX=/", 12);
	for (int i = 0; i < WINE_ENVIRON_VALUE_MAX + 10; i++)
		strbuf_append_char(&block, 'x');
	strbuf_append(&block, noexec, sizeof(noexec) - 1);
	wine_environ_scan_init(scan);
	wine_environ_scan_feed(scan, block.data, block.length);
	assert_null(wine_environ_scan_value(scan, WINE_ENVIRON_PREFIX));
	assert_true(scan->too_long[WINE_ENVIRON_PREFIX]);
	assert_string_equal(wine_environ_scan_value(scan, WINE_ENVIRON_LOADER_NOEXEC), "1");
	strbuf_free(&block);
	free(scan);
}

static void test_maps(void **state)
{
	(void)state;
	/* the program's own file, by device and inode, spaces in its path */
	expect_mapped(maps_text, makedev(0xfe, 0), 10953007, "my wp.exe",
		      WINE_MAPPED_IMAGE, "/tmp/sp ace/my wp.exe");
	/* Wine's builtin stands in for the placeholder of that name */
	expect_mapped(maps_text, makedev(1, 2), 3, "SERVICES.EXE", WINE_MAPPED_BUILTIN,
		      "/usr/lib/x86_64-linux-gnu/wine/x86_64-windows/services.exe");
	/* neither: the first .exe mapped is what runs */
	expect_mapped(maps_text, makedev(1, 2), 3, "other.exe", WINE_MAPPED_OTHER,
		      "/tmp/sp ace/my wp.exe");
	/* " (deleted)" is not part of the name; device numbers above 255 */
	expect_mapped(strstr(maps_text, "7f3000000000"), makedev(0x103, 4), 77, NULL,
		      WINE_MAPPED_IMAGE, "/mnt/x/gone.exe");
	expect_mapped("7f-80 r--p 0 fe:00 5 /usr/lib/libc.so.6\n", 0, 0, "x.exe",
		      WINE_MAPPED_NOT_YET, NULL);
	/* the same name outside Wine's directories is not a builtin */
	expect_mapped("7f-80 r--p 0 fe:00 5 /tmp/services.exe\n", 1, 1, "services.exe",
		      WINE_MAPPED_OTHER, "/tmp/services.exe");
	expect_mapped("", 0, 0, NULL, WINE_MAPPED_NOT_YET, NULL);
	assert_string_equal(wine_mapped_name(WINE_MAPPED_BUILTIN), "builtin");
}

/* --- resolution against a real prefix ----------------------------------------------- */

struct prefix_fixture {
	char root[64];
	char prefix[128];
	char home[128];
	pid_t sleeper; /* a process whose environment names the prefix */
};

static void write_file(const char *path, const char *content)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static void make_directory(struct prefix_fixture *fixture, const char *relative)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", fixture->root, relative);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void make_file(struct prefix_fixture *fixture, const char *relative,
		      const char *content)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", fixture->root, relative);
	write_file(path, content);
}

/* A process with that environment (once its exec has set it up). */
static pid_t spawn_sleeper(char *const environment[])
{
	char *argv[] = {"sleep", "60", NULL};
	size_t length = 0;
	char *text;
	pid_t pid;

	assert_int_equal(posix_spawn(&pid, "/bin/sleep", NULL, NULL, argv, environment), 0);
	for (int attempt = 0; attempt < 1000 && length == 0; attempt++) {
		text = wine_read_proc((uint32_t)pid, "environ", 4096, &length);
		assert_non_null(text);
		free(text);
		if (length == 0)
			usleep(1000);
	}
	assert_true(length > 0);
	return pid;
}

static int prefix_setup(void **state)
{
	static const char *const directories[] = {
		"home", "home/prefix", "home/prefix/dosdevices", "home/prefix/drive_c",
		"home/prefix/drive_c/Program Files", "home/prefix/drive_c/Program Files/rport",
		"home/prefix/drive_c/windows", "home/prefix/drive_c/windows/system32",
		"cwd",
	};
	struct prefix_fixture *fixture = calloc(1, sizeof(*fixture));
	char link[256], prefix_variable[160], home_variable[160];
	char *environment[] = {prefix_variable, home_variable, NULL};

	strcpy(fixture->root, "/tmp/rmmhunt-wine-unit-XXXXXX");
	assert_non_null(mkdtemp(fixture->root));
	for (size_t i = 0; i < sizeof(directories) / sizeof(directories[0]); i++)
		make_directory(fixture, directories[i]);
	snprintf(fixture->home, sizeof(fixture->home), "%s/home", fixture->root);
	snprintf(fixture->prefix, sizeof(fixture->prefix), "%s/home/prefix", fixture->root);
	snprintf(link, sizeof(link), "%s/dosdevices/c:", fixture->prefix);
	assert_int_equal(symlink("../drive_c", link), 0);
	snprintf(link, sizeof(link), "%s/dosdevices/z:", fixture->prefix);
	assert_int_equal(symlink("/", link), 0);
	make_file(fixture, "home/prefix/drive_c/Program Files/rport/rport.exe", "MZ rport");
	make_file(fixture, "home/prefix/drive_c/windows/system32/start.exe", "MZ start");
	make_file(fixture, "home/prefix/drive_c/windows/system32/notepad.exe", "MZ notepad");
	make_file(fixture, "cwd/local.exe", "MZ local");
	make_file(fixture, "cwd/script.exe", "#!/bin/sh\n");
	snprintf(prefix_variable, sizeof(prefix_variable), "WINEPREFIX=%s", fixture->prefix);
	snprintf(home_variable, sizeof(home_variable), "HOME=%s", fixture->home);
	fixture->sleeper = spawn_sleeper(environment);
	*state = fixture;
	return 0;
}

static int prefix_teardown(void **state)
{
	struct prefix_fixture *fixture = *state;
	char command[160];

	kill(fixture->sleeper, SIGKILL);
	waitpid(fixture->sleeper, NULL, 0);
	snprintf(command, sizeof(command), "rm -rf '%s'", fixture->root);
	assert_int_equal(system(command), 0);
	free(fixture);
	return 0;
}

struct resolved {
	struct wine_program *program;
	int fd;
	int open_errno;
	bool final_step;
};

static void resolve(struct prefix_fixture *fixture, pid_t pid, const char *const *words,
		    bool child, struct resolved *out)
{
	char cwd[160];
	struct argv_block argv;
	struct wine_step step;
	struct wine_context context = {.pid = (uint32_t)pid, .uid = 0, .cwd = cwd,
				       .child = child};

	snprintf(cwd, sizeof(cwd), "%s/cwd", fixture->root);
	/* words[0] is the loader that runs */
	assert_true(classify(words[0], words[0], "", &argv, words, &step));
	assert_int_equal(wine_resolve(&step, &context, &out->program, &out->fd,
				      &out->open_errno, &out->final_step), 0);
}

static void resolved_free(struct resolved *resolved)
{
	if (resolved->fd >= 0)
		close(resolved->fd);
	wine_program_free(resolved->program);
}

static void expect_linux_path(struct prefix_fixture *fixture, const char *actual,
			      const char *relative)
{
	char expected[256], *real;

	snprintf(expected, sizeof(expected), "%s/%s", fixture->root, relative);
	real = realpath(expected, NULL);
	assert_non_null(real);
	assert_string_equal(actual, real);
	free(real);
}

static void test_dos_path_through_dosdevices(void **state)
{
	struct prefix_fixture *fixture = *state;
	struct resolved resolved;

	resolve(fixture, fixture->sleeper,
		WORDS("/usr/lib/wine/wine64", "c:\\PROGRAM FILES\\rport\\RPORT.EXE", "5000"),
		false, &resolved);
	assert_non_null(resolved.program);
	assert_true(resolved.fd >= 0);
	/* no WINELOADERNOEXEC: this loader execs again */
	assert_false(resolved.final_step);
	/* the path as given (drive in upper case), the file found without case */
	assert_string_equal(resolved.program->folder_path,
			    "C:\\PROGRAM FILES\\rport\\RPORT.EXE");
	expect_linux_path(fixture, resolved.program->linux_path,
			  "home/prefix/drive_c/Program Files/rport/rport.exe");
	assert_string_equal(resolved.program->prefix, fixture->prefix);
	assert_string_equal(resolved.program->command_line,
			    "\"C:\\PROGRAM FILES\\rport\\RPORT.EXE\" 5000");
	assert_string_equal(resolved.program->loader, "/usr/lib/wine/wine64");
	assert_false(resolved.program->start_exe);
	resolved_free(&resolved);
}

static void test_unix_paths_become_dos_paths(void **state)
{
	struct prefix_fixture *fixture = *state;
	struct resolved resolved;
	char program[200], expected[256];

	/* inside drive_c: the deepest drive, C:, not Z: */
	snprintf(program, sizeof(program), "%s/drive_c/Program Files/rport/rport.exe",
		 fixture->prefix);
	resolve(fixture, fixture->sleeper,
		WORDS("/usr/lib/wine/wine64-preloader", program), false, &resolved);
	assert_true(resolved.final_step);
	assert_string_equal(resolved.program->folder_path, "C:\\Program Files\\rport\\rport.exe");
	resolved_free(&resolved);
	/* relative to the exec's cwd, elsewhere: Z: */
	resolve(fixture, fixture->sleeper, WORDS("/usr/lib/wine/wine64", "local.exe", "a b"),
		false, &resolved);
	snprintf(expected, sizeof(expected), "Z:%s\\cwd\\local.exe", fixture->root);
	for (char *cursor = expected; *cursor; cursor++)
		*cursor = *cursor == '/' ? '\\' : *cursor;
	assert_string_equal(resolved.program->folder_path, expected);
	assert_true(resolved.fd >= 0);
	expect_linux_path(fixture, resolved.program->linux_path, "cwd/local.exe");
	resolved_free(&resolved);
}

static void test_what_wine_cannot_find_runs_start_exe(void **state)
{
	struct prefix_fixture *fixture = *state;
	struct resolved resolved;

	resolve(fixture, fixture->sleeper, WORDS("/usr/lib/wine/wine64", "notepad", "x.txt"),
		false, &resolved);
	assert_true(resolved.program->start_exe);
	assert_string_equal(resolved.program->folder_path, "C:\\windows\\system32\\start.exe");
	assert_string_equal(resolved.program->command_line,
			    "\"C:\\windows\\system32\\start.exe\" /exec notepad x.txt");
	assert_string_equal(resolved.program->requested, "notepad");
	expect_linux_path(fixture, resolved.program->linux_path,
			  "home/prefix/drive_c/windows/system32/start.exe");
	resolved_free(&resolved);
	/* a Windows parent's bare name: the system directories, .exe added */
	resolve(fixture, fixture->sleeper, WORDS("/usr/lib/wine/wine64", "notepad", "x.txt"),
		true, &resolved);
	assert_false(resolved.program->start_exe);
	assert_true(resolved.program->child);
	assert_string_equal(resolved.program->folder_path, "C:\\windows\\system32\\notepad.exe");
	/* the parent's command line keeps its first word */
	assert_string_equal(resolved.program->command_line, "\"notepad\" x.txt");
	resolved_free(&resolved);
	/* a child whose program is nowhere: the argument itself, no file */
	resolve(fixture, fixture->sleeper, WORDS("/usr/lib/wine/wine64", "C:\\missing\\x.exe"),
		true, &resolved);
	assert_string_equal(resolved.program->folder_path, "C:\\missing\\x.exe");
	assert_string_equal(resolved.program->linux_path, "");
	assert_int_equal(resolved.fd, -1);
	assert_int_equal(resolved.open_errno, ENOENT);
	resolved_free(&resolved);
}

static void test_environment_decides_prefix_and_last_step(void **state)
{
	struct prefix_fixture *fixture = *state;
	char home_variable[160], prefix_variable[160];
	char *home_only[] = {home_variable, NULL};
	char *relative_prefix[] = {prefix_variable, "WINELOADERNOEXEC=1", NULL};
	struct resolved resolved;
	char expected[200];
	pid_t pid;

	/* no WINEPREFIX: $HOME/.wine */
	snprintf(home_variable, sizeof(home_variable), "HOME=%s/cwd", fixture->root);
	pid = spawn_sleeper(home_only);
	resolve(fixture, pid, WORDS("/usr/lib/wine/wine64", "local.exe"), false, &resolved);
	snprintf(expected, sizeof(expected), "%s/cwd/.wine", fixture->root);
	assert_string_equal(resolved.program->prefix, expected);
	resolved_free(&resolved);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	/* a relative WINEPREFIX is taken against the cwd; WINELOADERNOEXEC:
	 * the loader runs the program itself */
	snprintf(prefix_variable, sizeof(prefix_variable), "WINEPREFIX=../home/prefix");
	pid = spawn_sleeper(relative_prefix);
	resolve(fixture, pid,
		WORDS("/usr/lib/wine/wine64", "C:\\Program Files\\rport\\rport.exe"), false,
		&resolved);
	assert_true(resolved.final_step);
	assert_string_equal(resolved.program->prefix, fixture->prefix);
	assert_true(resolved.fd >= 0);
	resolved_free(&resolved);
	/* the process is gone: no guess at the prefix, Z: still maps "/" */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	resolve(fixture, pid, WORDS("/usr/lib/wine/wine64", "local.exe"), false, &resolved);
	assert_true(resolved.final_step);
	assert_string_equal(resolved.program->prefix, "");
	assert_int_equal(strncmp(resolved.program->folder_path, "Z:\\tmp\\", 7), 0);
	assert_true(resolved.fd >= 0);
	resolved_free(&resolved);
}

static void resolve_script(struct prefix_fixture *fixture, const char *filename,
			   struct resolved *out)
{
	char cwd[160];
	struct argv_block argv;
	struct wine_step step;
	struct wine_context context = {.pid = (uint32_t)fixture->sleeper, .cwd = cwd};

	snprintf(cwd, sizeof(cwd), "%s/cwd", fixture->root);
	assert_true(classify("/usr/bin/dash", filename, "/bin/sh", &argv,
			     WORDS("/bin/sh", "-e", "/usr/bin/wine", filename), &step));
	assert_int_equal(wine_resolve(&step, &context, &out->program, &out->fd,
				      &out->open_errno, &out->final_step), 0);
}

static void test_binfmt_needs_a_pe(void **state)
{
	struct prefix_fixture *fixture = *state;
	struct resolved resolved;

	/* the exec's filename is the program and starts with MZ */
	resolve_script(fixture, "./local.exe", &resolved);
	assert_true(resolved.program->binfmt);
	assert_false(resolved.final_step);
	resolved_free(&resolved);
	resolve_script(fixture, "./script.exe", &resolved);
	assert_false(resolved.program->binfmt);
	resolved_free(&resolved);
}

static void test_program_from_mapped_file(void **state)
{
	struct prefix_fixture *fixture = *state;
	struct wine_program base = {.folder_path = "notepad", .command_line = "\"notepad\"",
				    .linux_path = "", .loader = "/usr/lib/wine/wine64",
				    .prefix = fixture->prefix, .requested = "notepad",
				    .child = true};
	struct wine_maps_result mapped = {.found = WINE_MAPPED_OTHER};
	struct wine_program *program;
	struct stat status;
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/cwd/local.exe", fixture->root);
	assert_int_equal(stat(path, &status), 0);
	mapped.path = path;
	mapped.device = status.st_dev;
	mapped.inode = status.st_ino;
	assert_int_equal(wine_program_from_mapped(&base, &mapped, &program, &fd), 0);
	assert_true(fd >= 0);
	assert_int_equal(strncmp(program->folder_path, "Z:\\tmp\\", 7), 0);
	assert_string_equal(program->linux_path, path);
	assert_string_equal(program->command_line, "\"notepad\"");
	assert_true(program->child);
	close(fd);
	wine_program_free(program);
	/* another file under that name now: refused */
	mapped.inode++;
	assert_int_equal(wine_program_from_mapped(&base, &mapped, &program, &fd), -ENOENT);
	assert_int_equal(fd, -1);
}

/* --- the assembler and Wine's loader chain ----------------------------------------- */

#define PID_GONE 4000100 /* no such process: no environment, no maps */

struct chain_files {
	char root[64];
	char script[96], loader[96], program[96];
};

static void chain_files_make(struct chain_files *files)
{
	strcpy(files->root, "/tmp/rmmhunt-wine-chain-XXXXXX");
	assert_non_null(mkdtemp(files->root));
	snprintf(files->script, sizeof(files->script), "%s/wine", files->root);
	snprintf(files->loader, sizeof(files->loader), "%s/wine64", files->root);
	snprintf(files->program, sizeof(files->program), "%s/prog.exe", files->root);
	write_file(files->script, "#!/bin/sh\nexec wine64 \"$@\"\n");
	write_file(files->loader, "\177ELF loader");
	write_file(files->program, "MZ program");
}

/* The test's loader stands for Debian's wine64: trusted by its inode, as
 * a --wine-loader is (a file merely named wine64 is not). */
static void trust_loader(struct harness *harness, struct chain_files *files)
{
	assert_int_equal(assembler_add_wine_loader(harness->assembler, files->loader), 0);
}

static void chain_files_remove(struct chain_files *files)
{
	unlink(files->script);
	unlink(files->loader);
	unlink(files->program);
	rmdir(files->root);
}

/* argv of a step: prefix words, then the program and "x y" */
static size_t chain_argv(char *out, size_t size, const char *first, const char *second,
			 const char *program)
{
	int length = snprintf(out, size, "%s%c%s%c%s%cx y%c", first, '\0', second, '\0',
			      program, '\0', '\0');

	return (size_t)length;
}

static void feed_chain(struct harness *harness, struct chain_files *files, __u32 pid,
		       __u64 start, __u64 time, bool with_script)
{
	char argv[512];
	size_t length;

	if (with_script) {
		length = chain_argv(argv, sizeof(argv), "/bin/sh", files->script, files->program);
		feed_exec_as(harness, &(struct exec_spec){EVENT_EXEC, pid, start, time, 100,
							  SECOND, "/bin/sh", argv, length},
			     &(struct exec_names){files->script, "/bin/sh", NULL});
	}
	length = chain_argv(argv, sizeof(argv), files->loader, files->program, "");
	/* [wine64, program, "", "x y"]: an empty argument too */
	feed_exec(harness, &(struct exec_spec){EVENT_EXEC, pid, start, time + 1000,
					       100, SECOND, files->loader, argv, length});
	feed_exec(harness, &(struct exec_spec){EVENT_EXEC, pid, start, time + 2000,
					       100, SECOND, files->loader, argv, length});
}

static void start_parent(struct harness *harness)
{
	/* 100 existed before the agent (scan) */
	feed_exec(harness, &(struct exec_spec){EVENT_SCAN, 100, SECOND, 2 * SECOND, 1,
					       0, "/usr/bin/sleep", "sleep\0" "100\0", 10});
	assembler_scan_done(harness->assembler);
}

/* Was the probe told that execs of path need no prompt look? */
static bool probe_told_of(const struct harness *harness, const char *path)
{
	struct stat status;

	assert_int_equal(stat(path, &status), 0);
	for (uint32_t i = 0; i < harness->known_count; i++) {
		if (harness->known_inodes[i] == status.st_ino)
			return true;
	}
	return false;
}

static void test_loader_chain_is_one_row(void **state)
{
	struct harness *harness = *state;
	struct chain_files files;
	json_t *row, *fields;
	char expected[320], other_name[300];

	chain_files_make(&files);
	trust_loader(harness, &files);
	start_parent(harness);
	feed_fork(harness, PID_GONE, 3 * SECOND, 100, SECOND);
	feed_chain(harness, &files, PID_GONE, 3 * SECOND, 4 * SECOND, true);
	/* held: its process may exec once more, or show the program mapped */
	assert_int_equal(json_array_size(harness->rows), 0);
	feed_exit(harness, PID_GONE, 3 * SECOND, 5 * SECOND);
	assert_int_equal(json_array_size(harness->rows), 1);
	row = json_array_get(harness->rows, 0);
	/* the process was gone before its maps showed prog.exe: the row keeps
	 * the file that ran, prog.exe is only what argv named */
	assert_string_equal(text(row, "FolderPath"), files.loader);
	assert_string_equal(text(row, "FileName"), "wine64");
	assert_int_equal(number(row, "FileSize"), 11);
	assert_int_equal(strlen(text(row, "SHA256")), 64);
	/* the initiating process is the one that forked, not a loader step */
	assert_int_equal(number(row, "InitiatingProcessId"), 100);
	assert_string_equal(text(row, "InitiatingProcessFileName"), "sleep");
	fields = json_loads(text(row, "AdditionalFields"), 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(fields, "ExecSequence")), 1);
	assert_true(json_is_false(json_object_get(fields, "ExecWithoutFork")));
	assert_int_equal(json_integer_value(json_object_get(fields, "WineLoaderSteps")), 3);
	assert_int_equal(json_array_size(json_object_get(fields, "WineLoaderChain")), 3);
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(fields, "WineLoaderChain"), 0)),
			    files.script);
	assert_string_equal(json_string_value(json_object_get(fields, "WineLoader")),
			    files.loader);
	assert_string_equal(json_string_value(json_object_get(fields, "WinePrefix")), "");
	assert_string_equal(json_string_value(json_object_get(fields, "WineImageMapped")),
			    "exited");
	assert_true(json_is_false(json_object_get(fields, "WineConfirmed")));
	assert_string_equal(json_string_value(json_object_get(fields, "WineLinuxPath")),
			    files.program);
	assert_null(json_object_get(fields, "ExeSHA256")); /* the columns hold it */
	assert_string_equal(json_string_value(json_object_get(fields, "HashStatus")), "ok");
	assert_string_equal(json_string_value(json_object_get(fields, "FileType")), "ELF");
	json_decref(fields);
	snprintf(expected, sizeof(expected), "%s %s \"\" \"x y\"", files.loader, files.program);
	assert_string_equal(text(row, "ProcessCommandLine"), expected);
	/* a loader's exec starts a Windows program: always seen at once, even
	 * run under another name (a hard link) that is no step of a chain */
	snprintf(other_name, sizeof(other_name), "%s/other-name", files.root);
	assert_int_equal(link(files.loader, other_name), 0);
	feed_fork(harness, PID_GONE + 1, 6 * SECOND, 100, SECOND);
	feed_exec(harness, &(struct exec_spec){EVENT_EXEC, PID_GONE + 1, 6 * SECOND,
					       7 * SECOND, 100, SECOND, other_name,
					       "other-name\0", 11});
	feed_exit(harness, PID_GONE + 1, 6 * SECOND, 8 * SECOND);
	assert_int_equal(json_array_size(harness->rows), 2);
	assert_false(probe_told_of(harness, files.loader));
	unlink(other_name);
	chain_files_remove(&files);
}

static void test_chain_cut_short_keeps_its_row(void **state)
{
	struct harness *harness = *state;
	struct chain_files files;
	char argv[512];
	size_t length;
	json_t *row;

	chain_files_make(&files);
	trust_loader(harness, &files);
	start_parent(harness);
	feed_fork(harness, PID_GONE, 3 * SECOND, 100, SECOND);
	length = chain_argv(argv, sizeof(argv), "/bin/sh", files.script, files.program);
	feed_exec_as(harness, &(struct exec_spec){EVENT_EXEC, PID_GONE, 3 * SECOND, 4 * SECOND,
						  100, SECOND, "/bin/sh", argv, length},
		     &(struct exec_names){files.script, "/bin/sh", NULL});
	/* a script step waits for its loader... */
	assembler_poll(harness->assembler, 5 * SECOND);
	assert_int_equal(json_array_size(harness->rows), 0);
	/* ...but the script execs something else: its row goes out as it was */
	feed_exec(harness, &(struct exec_spec){EVENT_EXEC, PID_GONE, 3 * SECOND, 6 * SECOND,
					       100, SECOND, "/usr/bin/true", "true\0", 5});
	assert_int_equal(json_array_size(harness->rows), 2);
	/* a script never confirmed: the row is what ran, the shell */
	row = json_array_get(harness->rows, 0);
	assert_string_equal(text(row, "FileName"), "sh");
	assert_non_null(strstr(text(row, "AdditionalFields"), "\"WineRequestedProgram\":"));
	row = json_array_get(harness->rows, 1);
	assert_string_equal(text(row, "FileName"), "true");
	assert_string_equal(text(row, "InitiatingProcessFileName"), "sh");
	/* a lone loader step with nothing after it: written at its deadline */
	feed_exec(harness, &(struct exec_spec){EVENT_EXEC, PID_GONE + 1, 7 * SECOND,
					       8 * SECOND, 100, SECOND, files.loader,
					       "wine64\0--version\0", 17});
	assembler_poll(harness->assembler, 9 * SECOND);
	assert_int_equal(json_array_size(harness->rows), 2);
	assembler_poll(harness->assembler, 14 * SECOND);
	assert_int_equal(json_array_size(harness->rows), 3);
	row = json_array_get(harness->rows, 2);
	assert_string_equal(text(row, "FileName"), "wine64");
	assert_null(strstr(text(row, "AdditionalFields"), "WineLinuxPath"));
	assert_non_null(strstr(text(row, "AdditionalFields"), "\"WineLoaderSteps\":1"));
	chain_files_remove(&files);
}

static void test_windows_child_after_double_fork(void **state)
{
	struct harness *harness = *state;
	struct chain_files files;
	char argv[512];
	size_t length;
	json_t *row, *fields;

	chain_files_make(&files);
	trust_loader(harness, &files);
	start_parent(harness);
	/* 100 -> PID_GONE runs prog.exe (a Windows program) */
	feed_fork(harness, PID_GONE, 3 * SECOND, 100, SECOND);
	feed_chain(harness, &files, PID_GONE, 3 * SECOND, 4 * SECOND, false);
	/* no maps to read (no such process): the row goes out on the next poll */
	assembler_poll(harness->assembler, 4 * SECOND + 5000);
	assert_int_equal(json_array_size(harness->rows), 1);
	/* Wine's double fork: the middle process exits, the child execs the
	 * loader with a DOS path */
	feed_fork(harness, PID_GONE + 1, 5 * SECOND, PID_GONE, 3 * SECOND);
	feed_fork(harness, PID_GONE + 2, 6 * SECOND, PID_GONE + 1, 5 * SECOND);
	feed_exit(harness, PID_GONE + 1, 5 * SECOND, 6 * SECOND);
	length = (size_t)snprintf(argv, sizeof(argv), "%s%cZ:%s/prog.exe%c-c%cC:\\x.conf%c",
				  files.loader, '\0', files.root, '\0', '\0', '\0');
	feed_exec(harness, &(struct exec_spec){EVENT_EXEC, PID_GONE + 2, 6 * SECOND,
					       7 * SECOND, 1, SECOND, files.loader, argv,
					       length});
	feed_exit(harness, PID_GONE + 2, 6 * SECOND, 8 * SECOND);
	assert_int_equal(json_array_size(harness->rows), 2);
	/* neither was seen mapping prog.exe (no such processes): both rows
	 * are what ran, the loader; prog.exe is what argv named */
	row = json_array_get(harness->rows, 1);
	assert_string_equal(text(row, "FileName"), "wine64");
	assert_non_null(strstr(text(row, "AdditionalFields"), "/prog.exe\",\"WineBinfmt\""));
	/* the initiating process is the Windows parent, not Wine's middle fork */
	assert_int_equal(number(row, "InitiatingProcessId"), PID_GONE);
	assert_string_equal(text(row, "InitiatingProcessFileName"), "wine64");
	assert_string_equal(text(row, "InitiatingProcessFolderPath"), files.loader);
	assert_string_equal(text(row, "InitiatingProcessSHA256"),
			    text(json_array_get(harness->rows, 0), "SHA256"));
	assert_int_equal(number(row, "InitiatingProcessParentId"), 100);
	assert_string_equal(text(row, "InitiatingProcessParentFileName"), "sleep");
	fields = json_loads(text(row, "AdditionalFields"), 0, NULL);
	assert_true(json_is_true(json_object_get(fields, "WineChild")));
	assert_int_equal(json_integer_value(json_object_get(fields, "WineForkIntermediateId")),
			 PID_GONE + 1);
	json_decref(fields);
	chain_files_remove(&files);
}

/* Any user can call an ELF wine64 (issue 9): it is no step of Wine's chain,
 * folds nothing, and its row is what it is, whatever file argv names. */
static void test_loader_by_name_only_is_not_wine(void **state)
{
	struct harness *harness = *state;
	struct assembler_stats stats;
	struct chain_files files;
	char argv[512];
	size_t length;
	json_t *row;

	chain_files_make(&files);
	start_parent(harness);
	feed_fork(harness, PID_GONE, 3 * SECOND, 100, SECOND);
	length = chain_argv(argv, sizeof(argv), files.loader, files.program, "");
	feed_exec(harness, &(struct exec_spec){EVENT_EXEC, PID_GONE, 3 * SECOND, 4 * SECOND,
					       100, SECOND, files.loader, argv, length});
	feed_exec(harness, &(struct exec_spec){EVENT_EXEC, PID_GONE, 3 * SECOND, 5 * SECOND,
					       100, SECOND, files.loader, argv, length});
	/* not held, not folded: two rows, each the file that ran */
	assert_int_equal(json_array_size(harness->rows), 2);
	for (size_t i = 0; i < 2; i++) {
		row = json_array_get(harness->rows, i);
		assert_string_equal(text(row, "FolderPath"), files.loader);
		assert_string_equal(text(row, "ProcessVersionInfoCompanyName"), "");
		assert_null(strstr(text(row, "AdditionalFields"), "Wine"));
	}
	assembler_read_stats(harness->assembler, &stats);
	assert_int_equal(stats.wine_not_wine_loaders, 2);
	assert_int_equal(stats.wine_programs, 0);
	/* an ordinary file that merely has a loader's name */
	assert_true(probe_told_of(harness, files.loader));
	chain_files_remove(&files);
}

static void test_held_rows_are_bounded(void **state)
{
	struct harness *harness = *state;
	struct assembler_stats stats;
	struct chain_files files;
	json_t *row;

	chain_files_make(&files);
	trust_loader(harness, &files);
	start_parent(harness);
	/* 129 loader steps that wait: the oldest is written to make room */
	for (__u32 i = 0; i <= 128; i++)
		feed_exec(harness, &(struct exec_spec){EVENT_EXEC, PID_GONE + 10 + i,
						       3 * SECOND, 4 * SECOND, 100, SECOND,
						       files.loader, "wine64\0--version\0", 17});
	assert_int_equal(json_array_size(harness->rows), 1);
	row = json_array_get(harness->rows, 0);
	assert_int_equal(number(row, "ProcessId"), PID_GONE + 10);
	assembler_read_stats(harness->assembler, &stats);
	assert_int_equal(stats.wine_held, 128);
	assert_int_equal(stats.wine_held_overflow, 1);
	chain_files_remove(&files);
}

static void test_running_windows_program_found_by_the_scan(void **state)
{
	struct harness *harness = *state;
	struct chain_files files;
	char argv[256];
	size_t length;
	json_t *row;

	chain_files_make(&files);
	trust_loader(harness, &files);
	/* Wine rewrote the running loader's argv: [program, arguments] */
	length = (size_t)snprintf(argv, sizeof(argv), "%s%c-c%c", files.program, '\0', '\0');
	feed_exec(harness, &(struct exec_spec){EVENT_SCAN, PID_GONE, SECOND, 2 * SECOND, 1,
					       0, files.loader, argv, length});
	/* a loader whose argv still starts with the loader: the next word */
	length = chain_argv(argv, sizeof(argv), files.loader, files.program, "");
	feed_exec(harness, &(struct exec_spec){EVENT_SCAN, PID_GONE + 1, SECOND, 2 * SECOND,
					       1, 0, files.loader, argv, length});
	assembler_scan_done(harness->assembler);
	feed_fork(harness, PID_GONE + 2, 3 * SECOND, PID_GONE, SECOND);
	feed_exec(harness, &(struct exec_spec){EVENT_EXEC, PID_GONE + 2, 3 * SECOND,
					       4 * SECOND, PID_GONE, SECOND, "/usr/bin/true",
					       "true\0", 5});
	feed_fork(harness, PID_GONE + 3, 3 * SECOND, PID_GONE + 1, SECOND);
	feed_exec(harness, &(struct exec_spec){EVENT_EXEC, PID_GONE + 3, 3 * SECOND,
					       4 * SECOND, PID_GONE + 1, SECOND, "/usr/bin/true",
					       "true\0", 5});
	assert_int_equal(json_array_size(harness->rows), 2);
	/* their maps could not be read (no such processes): they stay the
	 * loader, known to run a Windows program (their children are its) */
	for (size_t i = 0; i < 2; i++) {
		row = json_array_get(harness->rows, i);
		assert_string_equal(text(row, "InitiatingProcessFileName"), "wine64");
		assert_string_equal(text(row, "InitiatingProcessFolderPath"), files.loader);
		assert_int_equal(strlen(text(row, "InitiatingProcessSHA256")), 64);
	}
	chain_files_remove(&files);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_other_execs_are_not_wine),
		cmocka_unit_test(test_wine_script_step),
		cmocka_unit_test(test_binfmt_misc_step),
		cmocka_unit_test(test_loader_and_preloader_steps),
		cmocka_unit_test(test_program_paths),
		cmocka_unit_test(test_windows_command_line),
		cmocka_unit_test(test_environment_values),
		cmocka_unit_test(test_environment_scan),
		cmocka_unit_test(test_maps),
		cmocka_unit_test_setup_teardown(test_dos_path_through_dosdevices,
						prefix_setup, prefix_teardown),
		cmocka_unit_test_setup_teardown(test_unix_paths_become_dos_paths,
						prefix_setup, prefix_teardown),
		cmocka_unit_test_setup_teardown(test_what_wine_cannot_find_runs_start_exe,
						prefix_setup, prefix_teardown),
		cmocka_unit_test_setup_teardown(test_environment_decides_prefix_and_last_step,
						prefix_setup, prefix_teardown),
		cmocka_unit_test_setup_teardown(test_binfmt_needs_a_pe, prefix_setup,
						prefix_teardown),
		cmocka_unit_test_setup_teardown(test_program_from_mapped_file, prefix_setup,
						prefix_teardown),
		cmocka_unit_test_setup_teardown(test_loader_chain_is_one_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_cut_short_keeps_its_row, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_windows_child_after_double_fork, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_loader_by_name_only_is_not_wine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_held_rows_are_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_running_windows_program_found_by_the_scan,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
