/*
 * Unit tests for src/fs/state.c against a real directory under /tmp.
 *
 * The suite setup makes one private base directory and the teardown
 * removes it, so a test that stops half-way leaves nothing behind; each
 * test works in its own subdirectory of it.  Besides the round trips, the
 * tests plant what an attacker (or a crash) could leave in the state
 * directory — symlinks, FIFOs, oversized files, graves — and check that
 * drukfs neither follows nor trips over them.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"

#include "../support/cunit_main.h"

#define URL "http://127.0.0.1:8080"
#define HASH_URL "75327da3b04bcbf2" /* FNV-1a 64 of URL */

static char base[64];
static unsigned test_seq;

/* ---- fixture -------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int type,
		    struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static int rm_rf(const char *path)
{
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int suite_setup(void)
{
	snprintf(base, sizeof(base), "/tmp/drukfs-state-test-XXXXXX");
	return mkdtemp(base) ? 0 : -1;
}

static int suite_teardown(void)
{
	return rm_rf(base) == 0 ? 0 : -1;
}

/* snprintf into a path buffer; a path that does not fit fails the test. */
__attribute__((format(printf, 3, 4)))
static const char *pathf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	CU_ASSERT_FATAL(n >= 0 && (size_t)n < size);
	return buf;
}

static const char *join(char *buf, size_t size, const char *a, const char *b)
{
	return pathf(buf, size, "%s/%s", a, b);
}

/* A fresh, not yet existing path base/tN/<leaf> in `buf`. */
static const char *fresh_path(char *buf, size_t size, const char *leaf)
{
	char parent[PATH_MAX];

	pathf(parent, sizeof(parent), "%s/t%u", base, ++test_seq);
	CU_ASSERT_FATAL(mkdir(parent, 0700) == 0);
	return join(buf, size, parent, leaf);
}

/* A state opened in a fresh directory, whose path is left in `dir`. */
static drukfs_state *fresh_state(char *dir, size_t size)
{
	drukfs_state *st = NULL;

	fresh_path(dir, size, "state");
	CU_ASSERT_EQUAL_FATAL(drukfs_state_open(&st, dir, URL), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	return st;
}

/* The whole content of `path` (malloc'd), or NULL. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int c;

	if (!f)
		return NULL;
	while ((c = fgetc(f)) != EOF) {
		if (n + 1 >= cap) {
			cap = cap ? cap * 2 : 64;
			buf = realloc(buf, cap);
			CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
		}
		buf[n++] = (char)c;
	}
	fclose(f);
	if (!buf)
		buf = calloc(1, 1);
	else
		buf[n] = '\0';
	return buf;
}

static void expect_file(const char *path, const char *want)
{
	char *got = slurp(path);

	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_STRING_EQUAL(got, want);
	free(got);
}

static void put_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "we");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(text, 1, len, f), len);
	CU_ASSERT_EQUAL(fclose(f), 0);
}

/* lstat type and permission bits of `path`, or 0 when missing. */
static mode_t mode_of(const char *path)
{
	struct stat sb;

	if (lstat(path, &sb) < 0)
		return 0;
	return sb.st_mode & (S_IFMT | 07777);
}

/* Entries of `path` other than "." and "..", or -1. */
static int count_entries(const char *path)
{
	struct dirent *de;
	DIR *d = opendir(path);
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- open ------------------------------------------------------------------ */

/* Missing parents are made 0700 even under a hostile umask; the state
 * dir, names/ and url are private. */
static void test_open_creates_private_dirs(void)
{
	char dir[PATH_MAX], p[PATH_MAX], top[PATH_MAX];
	drukfs_state *st = NULL;
	mode_t old = umask(0277);
	int rc;

	fresh_path(top, sizeof(top), "a");
	pathf(dir, sizeof(dir), "%s/b/state", top);
	rc = drukfs_state_open(&st, dir, URL);
	umask(old);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_STRING_EQUAL(drukfs_state_dir(st), dir);
	CU_ASSERT_EQUAL(mode_of(top), S_IFDIR | 0700);
	CU_ASSERT_EQUAL(mode_of(join(p, sizeof(p), top, "b")), S_IFDIR | 0700);
	CU_ASSERT_EQUAL(mode_of(dir), S_IFDIR | 0700);
	CU_ASSERT_EQUAL(mode_of(join(p, sizeof(p), dir, "names")),
			S_IFDIR | 0700);
	CU_ASSERT_EQUAL(mode_of(join(p, sizeof(p), dir, "url")),
			S_IFREG | 0600);
	expect_file(p, URL "\n");
	CU_ASSERT_EQUAL(count_entries(dir), 2);
	drukfs_state_free(st);
}

/* Reopening keeps what was claimed and rewrites url. */
static void test_open_reopen_keeps_names(void)
{
	char dir[PATH_MAX], p[PATH_MAX];
	drukfs_state *st = fresh_state(dir, sizeof(dir));
	drukfs_state_entry *e = NULL;

	CU_ASSERT_EQUAL(drukfs_state_claim(st, "web", "{}"), 0);
	CU_ASSERT_EQUAL(drukfs_state_set_id(st, "web", "id-1"), 0);
	drukfs_state_free(st);
	st = NULL;
	CU_ASSERT_EQUAL_FATAL(drukfs_state_open(&st, dir, "https://other"), 0);
	expect_file(join(p, sizeof(p), dir, "url"), "https://other\n");
	CU_ASSERT_EQUAL_FATAL(drukfs_state_load(st, "web", &e), 0);
	CU_ASSERT_STRING_EQUAL(e->id, "id-1");
	drukfs_state_entry_free(e);
	drukfs_state_free(st);
}

/* Any group or other bit on an existing state dir: -EPERM, and nothing is
 * written into it. */
static void test_open_refuses_shared_dir(void)
{
	static const mode_t modes[] = {0755, 0750, 0705, 0710, 0701, 0770};
	char dir[PATH_MAX];

	fresh_path(dir, sizeof(dir), "state");
	CU_ASSERT_FATAL(mkdir(dir, 0700) == 0);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		drukfs_state *st = (drukfs_state *)&test_seq;

		CU_ASSERT_FATAL(chmod(dir, modes[i]) == 0);
		CU_ASSERT_EQUAL(drukfs_state_open(&st, dir, URL), -EPERM);
		CU_ASSERT_PTR_NULL(st);
		CU_ASSERT_EQUAL(count_entries(dir), 0);
	}
	CU_ASSERT_EQUAL(mode_of(dir), S_IFDIR | 0770);
}

/* A state dir owned by someone else: -EPERM.  Needs root to make one. */
static void test_open_refuses_foreign_owner(void)
{
	char dir[PATH_MAX];
	drukfs_state *st = NULL;

	if (geteuid() != 0)
		return; /* cannot chown without root; nothing to check */
	fresh_path(dir, sizeof(dir), "state");
	CU_ASSERT_FATAL(mkdir(dir, 0700) == 0);
	CU_ASSERT_FATAL(chown(dir, 12345, 12345) == 0);
	CU_ASSERT_EQUAL(drukfs_state_open(&st, dir, URL), -EPERM);
	CU_ASSERT_PTR_NULL(st);
	CU_ASSERT_EQUAL(count_entries(dir), 0);
}

/* The state dir itself a symlink (even to a private dir): -ELOOP, nothing
 * written through it. */
static void test_open_refuses_symlinked_dir(void)
{
	char dir[PATH_MAX], real[PATH_MAX];
	drukfs_state *st = NULL;

	fresh_path(real, sizeof(real), "real");
	CU_ASSERT_FATAL(mkdir(real, 0700) == 0);
	pathf(dir, sizeof(dir), "%s.link", real);
	CU_ASSERT_FATAL(symlink(real, dir) == 0);
	CU_ASSERT_EQUAL(drukfs_state_open(&st, dir, URL), -ELOOP);
	CU_ASSERT_PTR_NULL(st);
	CU_ASSERT_EQUAL(count_entries(real), 0);
}

static void test_open_bad_arguments(void)
{
	char dir[PATH_MAX];
	drukfs_state *st = NULL;

	fresh_path(dir, sizeof(dir), "file");
	put_file(dir, "x", 1);
	CU_ASSERT_EQUAL(drukfs_state_open(&st, dir, URL), -ENOTDIR);
	CU_ASSERT_EQUAL(drukfs_state_open(&st, "", URL), -EINVAL);
	CU_ASSERT_EQUAL(drukfs_state_open(&st, NULL, URL), -EINVAL);
	CU_ASSERT_EQUAL(drukfs_state_open(&st, base, NULL), -EINVAL);
	CU_ASSERT_PTR_NULL(st);
}

/* ---- names ------------------------------------------------------------------ */

static void test_name_valid(void)
{
	char n255[256], n256[257];

	memset(n255, 'a', 255);
	n255[255] = '\0';
	memset(n256, 'a', 256);
	n256[256] = '\0';
	CU_ASSERT_EQUAL(drukfs_state_name_valid("web"), 1);
	CU_ASSERT_EQUAL(drukfs_state_name_valid("a"), 1);
	CU_ASSERT_EQUAL(drukfs_state_name_valid("A-z_0:9.x"), 1);
	CU_ASSERT_EQUAL(drukfs_state_name_valid(".hidden"), 1);
	CU_ASSERT_EQUAL(drukfs_state_name_valid("..."), 1);
	CU_ASSERT_EQUAL(drukfs_state_name_valid(n255), 1);
	CU_ASSERT_EQUAL(drukfs_state_name_valid(n256), 0);
	CU_ASSERT_EQUAL(drukfs_state_name_valid(NULL), 0);
	CU_ASSERT_EQUAL(drukfs_state_name_valid(""), 0);
	CU_ASSERT_EQUAL(drukfs_state_name_valid("."), 0);
	CU_ASSERT_EQUAL(drukfs_state_name_valid(".."), 0);
	CU_ASSERT_EQUAL(drukfs_state_name_valid("a/b"), 0);
	CU_ASSERT_EQUAL(drukfs_state_name_valid("a b"), 0);
	CU_ASSERT_EQUAL(drukfs_state_name_valid("#forget.1"), 0);
	CU_ASSERT_EQUAL(drukfs_state_name_valid("caf\xc3\xa9"), 0);
	CU_ASSERT_EQUAL(drukfs_state_name_valid("a\n"), 0);
}

static void test_claim_then_eexist(void)
{
	char dir[PATH_MAX], p[PATH_MAX];
	drukfs_state *st = fresh_state(dir, sizeof(dir));

	CU_ASSERT_EQUAL(drukfs_state_claim(st, "web", "{\"image\":\"a\"}"), 0);
	CU_ASSERT_EQUAL(drukfs_state_claim(st, "web", "{\"image\":\"b\"}"),
			-EEXIST);
	expect_file(join(p, sizeof(p), dir, "names/web/request.json"),
		    "{\"image\":\"a\"}");
	CU_ASSERT_EQUAL(drukfs_state_claim(st, "web2", NULL), 0);
	CU_ASSERT_EQUAL(count_entries(join(p, sizeof(p), dir, "names/web2")), 0);
	drukfs_state_free(st);
}

/* Invalid names are refused by every call and create nothing. */
static void test_invalid_names_refused(void)
{
	char n256[257], dir[PATH_MAX], p[PATH_MAX];
	const char *bad[] = {"", ".", "..", "a/b", n256, "a b", "../x", NULL};
	drukfs_state *st = fresh_state(dir, sizeof(dir));
	drukfs_state_entry *e = NULL;

	memset(n256, 'a', 256);
	n256[256] = '\0';
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(drukfs_state_claim(st, bad[i], "{}"), -EINVAL);
		CU_ASSERT_EQUAL(drukfs_state_set_id(st, bad[i], "x"), -EINVAL);
		CU_ASSERT_EQUAL(drukfs_state_set_key(st, bad[i], "k"), -EINVAL);
		CU_ASSERT_EQUAL(drukfs_state_set_failed(st, bad[i], "f"),
				-EINVAL);
		CU_ASSERT_EQUAL(drukfs_state_set_failed(st, bad[i], NULL),
				-EINVAL);
		CU_ASSERT_EQUAL(drukfs_state_forget(st, bad[i]), -EINVAL);
		CU_ASSERT_EQUAL(drukfs_state_load(st, bad[i], &e), -EINVAL);
		CU_ASSERT_PTR_NULL(e);
	}
	CU_ASSERT_EQUAL(count_entries(join(p, sizeof(p), dir, "names")), 0);
	CU_ASSERT_EQUAL(count_entries(dir), 2);
	CU_ASSERT_EQUAL(mode_of(join(p, sizeof(p), dir, "names/a")), 0);
	CU_ASSERT_EQUAL(mode_of(join(p, sizeof(p), dir, "x")), 0);
	drukfs_state_free(st);
}

static void test_round_trip(void)
{
	char dir[PATH_MAX];
	drukfs_state *st = fresh_state(dir, sizeof(dir));
	drukfs_state_entry *e = NULL;
	const char *key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n"
			  "-----END OPENSSH PRIVATE KEY-----\n";

	CU_ASSERT_EQUAL(drukfs_state_claim(st, "web", "{\"image\":\"u\"}"), 0);
	CU_ASSERT_EQUAL_FATAL(drukfs_state_load(st, "web", &e), 0);
	CU_ASSERT_STRING_EQUAL(e->name, "web");
	CU_ASSERT_STRING_EQUAL(e->request_json, "{\"image\":\"u\"}");
	CU_ASSERT_PTR_NULL(e->id);
	CU_ASSERT_PTR_NULL(e->private_key);
	CU_ASSERT_PTR_NULL(e->failed);
	drukfs_state_entry_free(e);

	CU_ASSERT_EQUAL(drukfs_state_set_id(st, "web", "first"), 0);
	CU_ASSERT_EQUAL(drukfs_state_set_id(st, "web", "0190c3e2-abcd"), 0);
	CU_ASSERT_EQUAL(drukfs_state_set_key(st, "web", key), 0);
	CU_ASSERT_EQUAL(drukfs_state_set_failed(st, "web", "502: quota\n"), 0);
	CU_ASSERT_EQUAL_FATAL(drukfs_state_load(st, "web", &e), 0);
	CU_ASSERT_STRING_EQUAL(e->id, "0190c3e2-abcd");
	CU_ASSERT_STRING_EQUAL(e->private_key, key);
	CU_ASSERT_STRING_EQUAL(e->failed, "502: quota\n");
	CU_ASSERT_STRING_EQUAL(e->request_json, "{\"image\":\"u\"}");
	drukfs_state_entry_free(e);

	CU_ASSERT_EQUAL(drukfs_state_set_failed(st, "web", NULL), 0);
	CU_ASSERT_EQUAL(drukfs_state_set_failed(st, "web", NULL), 0);
	CU_ASSERT_EQUAL(drukfs_state_set_id(st, "web", ""), 0);
	CU_ASSERT_EQUAL_FATAL(drukfs_state_load(st, "web", &e), 0);
	CU_ASSERT_PTR_NULL(e->failed);
	CU_ASSERT_STRING_EQUAL(e->id, "");
	drukfs_state_entry_free(e);
	CU_ASSERT_EQUAL(drukfs_state_set_id(st, "web", NULL), -EINVAL);
	CU_ASSERT_EQUAL(drukfs_state_set_key(st, "web", NULL), -EINVAL);
	drukfs_state_free(st);
}

/* Exact modes, whatever the umask, and no temporary files left over. */
static void test_modes_exact(void)
{
	char dir[PATH_MAX], p[PATH_MAX];
	drukfs_state *st = fresh_state(dir, sizeof(dir));
	mode_t old = umask(0277);

	CU_ASSERT_EQUAL(drukfs_state_claim(st, "web", "{}"), 0);
	CU_ASSERT_EQUAL(drukfs_state_set_id(st, "web", "id"), 0);
	CU_ASSERT_EQUAL(drukfs_state_set_key(st, "web", "KEY\n"), 0);
	umask(0);
	CU_ASSERT_EQUAL(drukfs_state_set_key(st, "web", "KEY2\n"), 0);
	umask(old);
	CU_ASSERT_EQUAL(mode_of(join(p, sizeof(p), dir, "names/web")),
			S_IFDIR | 0700);
	CU_ASSERT_EQUAL(mode_of(join(p, sizeof(p), dir, "names/web/private_key")),
			S_IFREG | 0600);
	CU_ASSERT_EQUAL(mode_of(join(p, sizeof(p), dir, "names/web/id")),
			S_IFREG | 0600);
	CU_ASSERT_EQUAL(mode_of(join(p, sizeof(p), dir,
				     "names/web/request.json")),
			S_IFREG | 0600);
	expect_file(join(p, sizeof(p), dir, "names/web/private_key"), "KEY2\n");
	CU_ASSERT_EQUAL(count_entries(join(p, sizeof(p), dir, "names/web")), 3);
	drukfs_state_free(st);
}

static void test_unclaimed_is_enoent(void)
{
	char dir[PATH_MAX], p[PATH_MAX];
	drukfs_state *st = fresh_state(dir, sizeof(dir));
	drukfs_state_entry *e = NULL;

	CU_ASSERT_EQUAL(drukfs_state_set_id(st, "ghost", "x"), -ENOENT);
	CU_ASSERT_EQUAL(drukfs_state_set_key(st, "ghost", "k"), -ENOENT);
	CU_ASSERT_EQUAL(drukfs_state_set_failed(st, "ghost", "f"), -ENOENT);
	CU_ASSERT_EQUAL(drukfs_state_set_failed(st, "ghost", NULL), -ENOENT);
	CU_ASSERT_EQUAL(drukfs_state_load(st, "ghost", &e), -ENOENT);
	CU_ASSERT_PTR_NULL(e);
	CU_ASSERT_EQUAL(drukfs_state_forget(st, "ghost"), -ENOENT);
	CU_ASSERT_EQUAL(count_entries(join(p, sizeof(p), dir, "names")), 0);
	drukfs_state_free(st);
}

static void test_forget_removes_everything(void)
{
	char dir[PATH_MAX], p[PATH_MAX];
	drukfs_state *st = fresh_state(dir, sizeof(dir));
	drukfs_state_entry *e = NULL;

	CU_ASSERT_EQUAL(drukfs_state_claim(st, "web", "{}"), 0);
	CU_ASSERT_EQUAL(drukfs_state_claim(st, "db", "{}"), 0);
	CU_ASSERT_EQUAL(drukfs_state_set_id(st, "web", "id"), 0);
	CU_ASSERT_EQUAL(drukfs_state_set_key(st, "web", "KEY\n"), 0);
	CU_ASSERT_EQUAL(drukfs_state_set_failed(st, "web", "f"), 0);
	/* a temporary a crash left behind goes too */
	put_file(join(p, sizeof(p), dir, "names/web/.id.tmp.1.2"), "x", 1);
	CU_ASSERT_EQUAL(drukfs_state_forget(st, "web"), 0);
	CU_ASSERT_EQUAL(count_entries(join(p, sizeof(p), dir, "names")), 1);
	CU_ASSERT_EQUAL(mode_of(join(p, sizeof(p), dir, "names/db")),
			S_IFDIR | 0700);
	CU_ASSERT_EQUAL(drukfs_state_load(st, "web", &e), -ENOENT);
	CU_ASSERT_EQUAL(drukfs_state_forget(st, "web"), -ENOENT);
	CU_ASSERT_EQUAL(drukfs_state_claim(st, "web", "{\"n\":2}"), 0);
	CU_ASSERT_EQUAL_FATAL(drukfs_state_load(st, "web", &e), 0);
	CU_ASSERT_PTR_NULL(e->id);
	CU_ASSERT_PTR_NULL(e->private_key);
	CU_ASSERT_PTR_NULL(e->failed);
	CU_ASSERT_STRING_EQUAL(e->request_json, "{\"n\":2}");
	drukfs_state_entry_free(e);
	drukfs_state_free(st);
}

/* Only real directories with valid names are listed. */
static void test_list(void)
{
	char dir[PATH_MAX], p[PATH_MAX];
	drukfs_state *st = fresh_state(dir, sizeof(dir));
	char **names = (char **)&test_seq;
	size_t count = 99;

	CU_ASSERT_EQUAL(drukfs_state_list(st, &names, &count), 0);
	CU_ASSERT_EQUAL(count, 0);
	drukfs_state_names_free(names, count);

	CU_ASSERT_EQUAL(drukfs_state_claim(st, "web", NULL), 0);
	CU_ASSERT_EQUAL(drukfs_state_claim(st, "b.c", NULL), 0);
	CU_ASSERT_EQUAL(drukfs_state_claim(st, "d:e-f_1", NULL), 0);
	CU_ASSERT_FATAL(mkdir(join(p, sizeof(p), dir, "names/not valid"), 0700)
			== 0);
	CU_ASSERT_FATAL(mkdir(join(p, sizeof(p), dir, "names/#forget.1.2"),
			      0700) == 0);
	put_file(join(p, sizeof(p), dir, "names/plainfile"), "x", 1);
	CU_ASSERT_FATAL(symlink(base, join(p, sizeof(p), dir, "names/link"))
			== 0);

	CU_ASSERT_EQUAL_FATAL(drukfs_state_list(st, &names, &count), 0);
	CU_ASSERT_EQUAL_FATAL(count, 3);
	qsort(names, count, sizeof(*names), cmp_str);
	CU_ASSERT_STRING_EQUAL(names[0], "b.c");
	CU_ASSERT_STRING_EQUAL(names[1], "d:e-f_1");
	CU_ASSERT_STRING_EQUAL(names[2], "web");
	drukfs_state_names_free(names, count);
	drukfs_state_free(st);
}

/* A grave left by a crash during forget is swept at the next open. */
static void test_open_sweeps_graves(void)
{
	char dir[PATH_MAX], p[PATH_MAX], from[PATH_MAX], to[PATH_MAX];
	drukfs_state *st = fresh_state(dir, sizeof(dir));

	CU_ASSERT_EQUAL(drukfs_state_claim(st, "web", "{}"), 0);
	CU_ASSERT_EQUAL(drukfs_state_set_key(st, "web", "KEY\n"), 0);
	drukfs_state_free(st);
	join(from, sizeof(from), dir, "names/web");
	join(to, sizeof(to), dir, "names/#forget.77.0000abcd");
	CU_ASSERT_FATAL(rename(from, to) == 0);
	st = NULL;
	CU_ASSERT_EQUAL_FATAL(drukfs_state_open(&st, dir, URL), 0);
	CU_ASSERT_EQUAL(count_entries(join(p, sizeof(p), dir, "names")), 0);
	drukfs_state_free(st);
}

/* ---- what an attacker could plant ------------------------------------------- */

/* A symlink at names/NAME/private_key is replaced, never written through. */
static void test_symlinked_key_not_followed(void)
{
	char dir[PATH_MAX], p[PATH_MAX], target[PATH_MAX];
	drukfs_state *st = fresh_state(dir, sizeof(dir));

	fresh_path(target, sizeof(target), "precious");
	put_file(target, "precious\n", 9);
	CU_ASSERT_FATAL(chmod(target, 0644) == 0);
	CU_ASSERT_EQUAL(drukfs_state_claim(st, "web", "{}"), 0);
	CU_ASSERT_FATAL(symlink(target, join(p, sizeof(p), dir,
					     "names/web/private_key")) == 0);
	CU_ASSERT_EQUAL(drukfs_state_set_key(st, "web", "KEY\n"), 0);
	expect_file(target, "precious\n");
	CU_ASSERT_EQUAL(mode_of(target), S_IFREG | 0644);
	CU_ASSERT_EQUAL(mode_of(p), S_IFREG | 0600);
	expect_file(p, "KEY\n");
	drukfs_state_free(st);
}

/* A symlink where a value file belongs is not read through: -ELOOP. */
static void test_symlinked_file_not_read(void)
{
	char dir[PATH_MAX], p[PATH_MAX], target[PATH_MAX];
	drukfs_state *st = fresh_state(dir, sizeof(dir));
	drukfs_state_entry *e = NULL;

	fresh_path(target, sizeof(target), "secret");
	put_file(target, "secret", 6);
	CU_ASSERT_EQUAL(drukfs_state_claim(st, "web", "{}"), 0);
	CU_ASSERT_FATAL(symlink(target, join(p, sizeof(p), dir,
					     "names/web/id")) == 0);
	CU_ASSERT_EQUAL(drukfs_state_load(st, "web", &e), -ELOOP);
	CU_ASSERT_PTR_NULL(e);
	drukfs_state_free(st);
}

/* names/NAME a symlink to a directory elsewhere: nothing is written
 * there, and forget removes only the link. */
static void test_symlinked_name_dir(void)
{
	char dir[PATH_MAX], p[PATH_MAX], outside[PATH_MAX], q[PATH_MAX];
	drukfs_state *st = fresh_state(dir, sizeof(dir));
	drukfs_state_entry *e = NULL;

	fresh_path(outside, sizeof(outside), "outside");
	CU_ASSERT_FATAL(mkdir(outside, 0700) == 0);
	put_file(join(q, sizeof(q), outside, "keep"), "keep", 4);
	CU_ASSERT_FATAL(symlink(outside, join(p, sizeof(p), dir,
					      "names/evil")) == 0);
	CU_ASSERT_TRUE(drukfs_state_set_id(st, "evil", "x") < 0);
	CU_ASSERT_TRUE(drukfs_state_set_key(st, "evil", "k") < 0);
	CU_ASSERT_TRUE(drukfs_state_load(st, "evil", &e) < 0);
	CU_ASSERT_EQUAL(drukfs_state_claim(st, "evil", "{}"), -EEXIST);
	CU_ASSERT_EQUAL(count_entries(outside), 1);
	CU_ASSERT_EQUAL(drukfs_state_forget(st, "evil"), 0);
	CU_ASSERT_EQUAL(mode_of(p), 0);
	CU_ASSERT_EQUAL(count_entries(outside), 1);
	expect_file(q, "keep");
	drukfs_state_free(st);
}

/* names/ itself swapped for a symlink: claims fail, nothing lands
 * outside. */
static void test_symlinked_names_dir(void)
{
	char dir[PATH_MAX], p[PATH_MAX], outside[PATH_MAX];
	drukfs_state *st = fresh_state(dir, sizeof(dir));
	char **names = NULL;
	size_t count = 0;

	fresh_path(outside, sizeof(outside), "outside");
	CU_ASSERT_FATAL(mkdir(outside, 0700) == 0);
	join(p, sizeof(p), dir, "names");
	CU_ASSERT_FATAL(rmdir(p) == 0);
	CU_ASSERT_FATAL(symlink(outside, p) == 0);
	CU_ASSERT_TRUE(drukfs_state_claim(st, "web", "{}") < 0);
	CU_ASSERT_TRUE(drukfs_state_list(st, &names, &count) < 0);
	CU_ASSERT_PTR_NULL(names);
	CU_ASSERT_EQUAL(count_entries(outside), 0);
	drukfs_state_free(st);
}

/* Files are read up to 1 MiB; one byte more is -EFBIG. */
static void test_read_cap(void)
{
	enum { MIB = 1024 * 1024 };
	char dir[PATH_MAX], p[PATH_MAX];
	drukfs_state *st = fresh_state(dir, sizeof(dir));
	drukfs_state_entry *e = NULL;
	char *big = malloc(MIB + 1);

	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, 'j', MIB + 1);
	CU_ASSERT_EQUAL(drukfs_state_claim(st, "web", "{}"), 0);
	put_file(join(p, sizeof(p), dir, "names/web/request.json"), big, MIB);
	CU_ASSERT_EQUAL_FATAL(drukfs_state_load(st, "web", &e), 0);
	CU_ASSERT_EQUAL(strlen(e->request_json), MIB);
	drukfs_state_entry_free(e);
	e = NULL;
	put_file(p, big, MIB + 1);
	CU_ASSERT_EQUAL(drukfs_state_load(st, "web", &e), -EFBIG);
	CU_ASSERT_PTR_NULL(e);
	free(big);
	drukfs_state_free(st);
}

/* A FIFO where a file belongs is refused at once rather than hanging. */
static void test_fifo_not_read(void)
{
	char dir[PATH_MAX], p[PATH_MAX];
	drukfs_state *st = fresh_state(dir, sizeof(dir));
	drukfs_state_entry *e = NULL;

	CU_ASSERT_EQUAL(drukfs_state_claim(st, "web", "{}"), 0);
	CU_ASSERT_FATAL(mkfifo(join(p, sizeof(p), dir, "names/web/failed"),
			       0600) == 0);
	CU_ASSERT_EQUAL(drukfs_state_load(st, "web", &e), -EINVAL);
	CU_ASSERT_PTR_NULL(e);
	drukfs_state_free(st);
}

/* ---- default directory --------------------------------------------------------- */

static char *saved_home, *saved_xdg;

static void env_save(void)
{
	const char *h = getenv("HOME"), *x = getenv("XDG_STATE_HOME");

	saved_home = h ? strdup(h) : NULL;
	saved_xdg = x ? strdup(x) : NULL;
}

static void env_restore(void)
{
	if (saved_home)
		setenv("HOME", saved_home, 1);
	else
		unsetenv("HOME");
	if (saved_xdg)
		setenv("XDG_STATE_HOME", saved_xdg, 1);
	else
		unsetenv("XDG_STATE_HOME");
	free(saved_home);
	free(saved_xdg);
	saved_home = saved_xdg = NULL;
}

static void expect_default(const char *url, const char *want)
{
	char *out = NULL;

	CU_ASSERT_EQUAL_FATAL(drukfs_state_default_dir(&out, url), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_STRING_EQUAL(out, want);
	free(out);
}

static void test_default_dir_xdg(void)
{
	env_save();
	setenv("XDG_STATE_HOME", "/xdg/state/", 1);
	setenv("HOME", "/home/tester", 1);
	expect_default(URL, "/xdg/state/drukfs/127.0.0.1_8080-" HASH_URL);
	expect_default("https://svc.example:8443/drukbox/v1?x=1",
		       "/xdg/state/drukfs/svc.example_8443_drukbox_v1_x_1-"
		       "ecec4eb92b684228");
	env_restore();
}

static void test_default_dir_home(void)
{
	env_save();
	unsetenv("XDG_STATE_HOME");
	setenv("HOME", "/home/tester", 1);
	expect_default(URL, "/home/tester/.local/state/drukfs/127.0.0.1_8080-"
			    HASH_URL);
	setenv("XDG_STATE_HOME", "relative/state", 1); /* ignored */
	expect_default(URL, "/home/tester/.local/state/drukfs/127.0.0.1_8080-"
			    HASH_URL);
	setenv("XDG_STATE_HOME", "", 1);
	setenv("HOME", "/", 1);
	expect_default("svc.example",
		       "/.local/state/drukfs/svc.example-e94721adebf8580d");
	env_restore();
}

/* Without HOME the password database names the home directory. */
static void test_default_dir_passwd(void)
{
	char want[PATH_MAX];
	struct passwd *pw = getpwuid(geteuid());

	CU_ASSERT_PTR_NOT_NULL_FATAL(pw);
	env_save();
	unsetenv("XDG_STATE_HOME");
	unsetenv("HOME");
	pathf(want, sizeof(want),
	      "%s/.local/state/drukfs/127.0.0.1_8080-" HASH_URL,
	      strcmp(pw->pw_dir, "/") == 0 ? "" : pw->pw_dir);
	expect_default(URL, want);
	env_restore();
}

/* The readable part is capped at 64 characters and leaves out
 * credentials; the hash still covers the whole URL. */
static void test_default_dir_key_shape(void)
{
	char url[128], want[256];
	char *out = NULL;

	env_save();
	setenv("XDG_STATE_HOME", "/s", 1);
	snprintf(url, sizeof(url), "https://%0100d", 0);
	memset(url + 8, 'a', 100);
	snprintf(want, sizeof(want), "/s/drukfs/%.64s-ee393d3425edea9a",
		 url + 8);
	expect_default(url, want);
	expect_default("https://user:secret@svc.example/x",
		       "/s/drukfs/svc.example_x-56416804e5d87e54");
	CU_ASSERT_EQUAL(drukfs_state_default_dir(&out, ""), -EINVAL);
	CU_ASSERT_EQUAL(drukfs_state_default_dir(&out, NULL), -EINVAL);
	CU_ASSERT_PTR_NULL(out);
	env_restore();
}

/* URLs that make the same readable key still get different directories. */
static void test_default_dir_distinct(void)
{
	const char *urls[] = {"http://a:1", "https://a:1", "http://a_1",
			      "http://a:1/", "http://A:1"};
	char *dirs[5];

	env_save();
	setenv("XDG_STATE_HOME", "/s", 1);
	for (size_t i = 0; i < 5; i++)
		CU_ASSERT_EQUAL_FATAL(drukfs_state_default_dir(&dirs[i], urls[i]),
				      0);
	CU_ASSERT_STRING_EQUAL(dirs[0], "/s/drukfs/a_1-84b5d1e78855b5a7");
	CU_ASSERT_STRING_EQUAL(dirs[1], "/s/drukfs/a_1-1e28f9b4f194726c");
	for (size_t i = 0; i < 5; i++)
		for (size_t j = i + 1; j < 5; j++)
			CU_ASSERT_STRING_NOT_EQUAL(dirs[i], dirs[j]);
	for (size_t i = 0; i < 5; i++)
		free(dirs[i]);
	env_restore();
}

/* ---- threads ---------------------------------------------------------------- */

enum { RACERS = 8, ROUNDS = 25 };

typedef struct race {
	drukfs_state *st;
	pthread_barrier_t *start;
	const char *name;
	int forget; /* race forget instead of claim */
	int rc;
} race;

static void *racer(void *arg)
{
	race *r = arg;

	pthread_barrier_wait(r->start);
	r->rc = r->forget ? drukfs_state_forget(r->st, r->name)
			  : drukfs_state_claim(r->st, r->name, "{}");
	return NULL;
}

/* Runs RACERS threads at once on `name`; returns how many got 0 and
 * checks all others got `loser_rc`. */
static int run_race(drukfs_state *st, const char *name, int forget,
		    int loser_rc)
{
	pthread_barrier_t start;
	pthread_t t[RACERS];
	race r[RACERS];
	int wins = 0;

	CU_ASSERT_FATAL(pthread_barrier_init(&start, NULL, RACERS) == 0);
	for (int i = 0; i < RACERS; i++) {
		r[i] = (race){st, &start, name, forget, 1};
		CU_ASSERT_FATAL(pthread_create(&t[i], NULL, racer, &r[i]) == 0);
	}
	for (int i = 0; i < RACERS; i++) {
		pthread_join(t[i], NULL);
		if (r[i].rc == 0)
			wins++;
		else
			CU_ASSERT_EQUAL(r[i].rc, loser_rc);
	}
	pthread_barrier_destroy(&start);
	return wins;
}

/* 8 threads claim one NAME: exactly one wins; then 8 forget it: exactly
 * one wins. */
static void test_concurrent_claim(void)
{
	char dir[PATH_MAX], name[32], p[PATH_MAX];
	drukfs_state *st = fresh_state(dir, sizeof(dir));

	for (int round = 0; round < ROUNDS; round++) {
		snprintf(name, sizeof(name), "race-%d", round);
		CU_ASSERT_EQUAL(run_race(st, name, 0, -EEXIST), 1);
		CU_ASSERT_EQUAL(run_race(st, name, 1, -ENOENT), 1);
	}
	CU_ASSERT_EQUAL(count_entries(join(p, sizeof(p), dir, "names")), 0);
	drukfs_state_free(st);
}

static const drukbox_test open_tests[] = {
	{"open makes private parents, dir, names, url",
	 test_open_creates_private_dirs},
	{"reopen keeps names, rewrites url", test_open_reopen_keeps_names},
	{"group/other bits: -EPERM, nothing written",
	 test_open_refuses_shared_dir},
	{"foreign owner: -EPERM", test_open_refuses_foreign_owner},
	{"symlinked state dir: -ELOOP", test_open_refuses_symlinked_dir},
	{"not a dir, empty, NULL", test_open_bad_arguments},
	{"graves are swept at open", test_open_sweeps_graves},
	{NULL, NULL},
};

static const drukbox_test name_tests[] = {
	{"name_valid", test_name_valid},
	{"claim then -EEXIST", test_claim_then_eexist},
	{"invalid names: -EINVAL everywhere, nothing made",
	 test_invalid_names_refused},
	{"claim/set/load round trip", test_round_trip},
	{"modes exactly 0600/0700, no temporaries", test_modes_exact},
	{"unclaimed NAME: -ENOENT", test_unclaimed_is_enoent},
	{"forget removes everything", test_forget_removes_everything},
	{"list: valid directories only", test_list},
	{"8 threads claim one NAME, then forget it", test_concurrent_claim},
	{NULL, NULL},
};

static const drukbox_test hostile_tests[] = {
	{"symlink at private_key is replaced, target untouched",
	 test_symlinked_key_not_followed},
	{"symlink at id is not read", test_symlinked_file_not_read},
	{"names/NAME a symlink: nothing written through",
	 test_symlinked_name_dir},
	{"names/ a symlink: nothing written through",
	 test_symlinked_names_dir},
	{"1 MiB cap, -EFBIG beyond", test_read_cap},
	{"FIFO is refused, not read", test_fifo_not_read},
	{NULL, NULL},
};

static const drukbox_test default_dir_tests[] = {
	{"XDG_STATE_HOME", test_default_dir_xdg},
	{"HOME only; relative XDG ignored", test_default_dir_home},
	{"no HOME: passwd", test_default_dir_passwd},
	{"key capped, credentials left out", test_default_dir_key_shape},
	{"distinct URLs, distinct dirs", test_default_dir_distinct},
	{NULL, NULL},
};

static const drukbox_test_suite suites[] = {
	{"fs-state open", suite_setup, suite_teardown, open_tests},
	{"fs-state names", suite_setup, suite_teardown, name_tests},
	{"fs-state hostile", suite_setup, suite_teardown, hostile_tests},
	{"fs-state default dir", NULL, NULL, default_dir_tests},
};

DRUKBOX_TEST_MAIN(suites)
