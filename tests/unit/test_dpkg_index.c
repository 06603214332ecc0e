/*
 * test_dpkg_index.c - the path -> package index over a dpkg database laid
 * out in a temporary directory: ownership, versions, Multi-Arch names,
 * shared paths, /usr-merge aliasing both ways, rebuild when the database
 * changes, and a missing database.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "binident/dpkg_index.h"

static char root[256];

static void write_text(const char *relative, const char *text)
{
	char path[512];
	FILE *file;

	snprintf(path, sizeof(path), "%s/%s", root, relative);
	file = fopen(path, "w");
	assert_non_null(file);
	fputs(text, file);
	fclose(file);
}

static int make_database(void **state)
{
	char path[512];

	(void)state;
	snprintf(root, sizeof(root), "/tmp/rmmhunt-dpkg-XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/var", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/var/lib", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/var/lib/dpkg", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/var/lib/dpkg/info", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/usr", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/bin", root);
	assert_int_equal(symlink("usr/bin", path), 0);
	snprintf(path, sizeof(path), "%s/lib64", root);
	assert_int_equal(symlink("/usr/lib64", path), 0);
	write_text("var/lib/dpkg/info/coreutils.list", "/.\n/bin\n/bin/ls\n/usr/bin/env\n/usr/share/doc\n");
	write_text("var/lib/dpkg/info/libc6:amd64.list",
		   "/.\n/lib64/ld-linux-x86-64.so.2\n/usr/share/doc\n");
	write_text("var/lib/dpkg/info/rport.list", "/usr/bin/rport\n/etc/rport/rport.conf\n");
	write_text("var/lib/dpkg/info/coreutils.md5sums", "0 /bin/not-a-list\n");
	write_text("var/lib/dpkg/status",
		   "Package: coreutils\nStatus: install ok installed\nArchitecture: amd64\nVersion: 9.1-1\n\n"
		   "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\n"
		   "Multi-Arch: same\nVersion: 2.36-9+deb12u4\n\n"
		   "Package: rport\nStatus: install ok installed\nArchitecture: amd64\nVersion: 0.9.12\n");
	return 0;
}

static int remove_database(void **state)
{
	char command[600];

	(void)state;
	snprintf(command, sizeof(command), "rm -rf '%s'", root);
	return system(command) == 0 ? 0 : -1;
}

static void test_owners_versions_and_aliases(void **state)
{
	(void)state;
	struct dpkg_index *index = NULL;
	struct dpkg_owner owners[4];

	assert_int_equal(dpkg_index_open(root, &index), 0);
	/* listed as /bin/ls, looked up as /usr/bin/ls and as /bin/ls */
	assert_int_equal(dpkg_index_lookup(index, "/usr/bin/ls", owners, 4), 1);
	assert_string_equal(owners[0].package, "coreutils");
	assert_string_equal(owners[0].version, "9.1-1");
	assert_int_equal(dpkg_index_lookup(index, "/bin/ls", owners, 4), 1);
	/* listed under /usr, looked up through the /bin symlink */
	assert_int_equal(dpkg_index_lookup(index, "/bin/env", owners, 4), 1);
	assert_string_equal(owners[0].package, "coreutils");
	/* an absolute symlink target (/lib64 -> /usr/lib64) counts too */
	assert_int_equal(dpkg_index_lookup(index, "/usr/lib64/ld-linux-x86-64.so.2", owners, 4), 1);
	assert_string_equal(owners[0].package, "libc6:amd64");
	assert_string_equal(owners[0].version, "2.36-9+deb12u4");
	assert_int_equal(dpkg_index_lookup(index, "/usr/bin/rport", owners, 4), 1);
	assert_string_equal(owners[0].version, "0.9.12");
	/* /sbin is not a symlink here: no aliasing for it */
	assert_int_equal(dpkg_index_lookup(index, "/usr/sbin/ls", owners, 4), 0);
	assert_int_equal(dpkg_index_lookup(index, "/usr/local/bin/rport", owners, 4), 0);
	assert_int_equal(dpkg_index_lookup(index, "/bin/not-a-list", owners, 4), 0);
	/* shared by two packages */
	assert_int_equal(dpkg_index_lookup(index, "/usr/share/doc", owners, 1), 2);
	assert_true(dpkg_index_size(index) >= 9);
	dpkg_index_close(index);
}

static void test_rebuild_when_database_changes(void **state)
{
	(void)state;
	struct dpkg_index *index = NULL;
	struct dpkg_owner owner;
	char info[512];
	struct timespec later[2];

	assert_int_equal(dpkg_index_open(root, &index), 0);
	assert_int_equal(dpkg_index_lookup(index, "/usr/bin/newtool", &owner, 1), 0);
	write_text("var/lib/dpkg/info/newtool.list", "/usr/bin/newtool\n");
	/* make sure the directory's mtime moves even on a coarse clock */
	snprintf(info, sizeof(info), "%s/var/lib/dpkg/info", root);
	clock_gettime(CLOCK_REALTIME, &later[0]);
	later[0].tv_sec += 10;
	later[1] = later[0];
	assert_int_equal(utimensat(AT_FDCWD, info, later, 0), 0);
	assert_int_equal(dpkg_index_lookup(index, "/usr/bin/newtool", &owner, 1), 1);
	assert_string_equal(owner.package, "newtool");
	assert_string_equal(owner.version, "");
	dpkg_index_close(index);
}

static void test_missing_database(void **state)
{
	(void)state;
	struct dpkg_index *index = NULL;
	struct dpkg_owner owner;

	assert_int_equal(dpkg_index_open("/nonexistent-root", &index), 0);
	assert_int_equal(dpkg_index_lookup(index, "/bin/ls", &owner, 1), -ENOENT);
	dpkg_index_close(index);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_owners_versions_and_aliases),
		cmocka_unit_test(test_rebuild_when_database_changes),
		cmocka_unit_test(test_missing_database),
	};

	return cmocka_run_group_tests(tests, make_database, remove_database);
}
